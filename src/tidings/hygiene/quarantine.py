"""The quarantine: hygiene stages hold a message here instead of delivering it; an
admin lists, releases (delivered to the recipients' INBOX) or deletes it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tidings.delivery.inbound import to_parsed_headers
from tidings.delivery.stages import Hold, StageInput
from tidings.hygiene.context import peek_context
from tidings.hygiene.spam.facts import first_address
from tidings.mime.build import prepend_header
from tidings.mime.headers import find_body_start, parse_headers
from tidings.model.errors import NotFound, TidingsError
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store.services import (
    BlobStore,
    DeliveredTo,
    MailService,
    NewQuarantined,
    QuarantineEntry,
    QuarantineService,
)

log = logging.getLogger(__name__)


def local_accounts(message: StageInput) -> tuple[AccountId, ...]:
    """Every local account the message is for, each once, in envelope order."""
    seen: dict[AccountId, None] = {}
    for recipient in message.recipients:
        for target in recipient.local:
            seen.setdefault(target.account_id, None)
    return tuple(seen)


class Quarantine:
    """Holding, releasing and deleting; every write is durable before it returns."""

    def __init__(self, store: QuarantineService, blobs: BlobStore, mail: MailService) -> None:
        self.store = store
        self.blobs = blobs
        self.mail = mail

    async def hold(
        self, message: StageInput, reason: str, *, score: float | None, report: str,
        fields: Sequence[tuple[str, str]] = (),
    ) -> Hold:
        """Store the message (with our explanation fields and the Authentication-Results
        an earlier stage found) and return the verdict that keeps it out of mailboxes."""
        raw = message.raw
        context = peek_context(message)
        added = list(fields)
        if context is not None and context.authentication_results:
            added.insert(0, ("Authentication-Results", context.authentication_results))
        for name, value in reversed(added):
            raw = prepend_header(raw, name, value)
        blob = await self.blobs.put(raw)
        headers = parse_headers(raw, 0, find_body_start(raw)[0])
        entry = await self.store.hold(NewQuarantined(
            sender=message.sender,
            recipients=tuple(r.address for r in message.recipients),
            account_ids=local_accounts(message),
            blob=blob, reason=reason, score=score, report=report,
            subject=headers.get_decoded("subject") or "",
            from_=first_address(headers.get("from")),
        ))
        log.info("quarantine.held id=%d reason=%s score=%s", entry.id, reason, score)
        return Hold(reason, blob)

    async def list(
        self, *, status: str | None = "held", account: AccountId | None = None,
        offset: int = 0, limit: int = 100,
    ) -> Sequence[QuarantineEntry]:
        return await self.store.list(status=status, account=account, offset=offset, limit=limit)

    async def get(self, entry_id: int) -> QuarantineEntry:
        return await self.store.get(entry_id)

    async def content(self, entry_id: int) -> bytes:
        entry = await self.store.get(entry_id)
        return await self.blobs.get(entry.held.blob.id)

    async def release(
        self, entry_id: int, by: str
    ) -> tuple[QuarantineEntry, Sequence[DeliveredTo]]:
        """Deliver to every recipient's INBOX. Raises NotFound, Conflict (not held)."""
        entry = await self.store.resolve(entry_id, "released", by)  # claims it: no double release
        try:
            raw = await self.blobs.get(entry.held.blob.id)
            accounts = [(a, MailboxRole.INBOX) for a in entry.held.account_ids]
            delivered = await self.mail.deliver(accounts, entry.held.blob, to_parsed_headers(raw))
        except (TidingsError, OSError):
            await self.store.resolve(entry_id, "held", by, expect="released")
            raise
        if not delivered and entry.held.account_ids:
            log.warning("quarantine.release_undelivered id=%d", entry_id)
        log.info("quarantine.released id=%d by=%s copies=%d", entry_id, by, len(delivered))
        return entry, delivered

    async def delete(self, entry_id: int, by: str) -> QuarantineEntry:
        """Raises NotFound, Conflict (already released or deleted)."""
        entry = await self.store.resolve(entry_id, "deleted", by)
        log.info("quarantine.deleted id=%d by=%s", entry_id, by)
        return entry


__all__ = ["NotFound", "Quarantine", "local_accounts"]
