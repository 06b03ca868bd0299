"""Accepting one message durably: trace header, filter stages, blob, one group-commit
delivery to every local account, the queue for remote recipients and the sender's
Sent copy. Returns only when all of it is committed (ARCHITECTURE.md rule 3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tidings.delivery.received import ReceivedInfo, new_message_id, received_header
from tidings.delivery.recipients import ResolvedRecipient, account_of
from tidings.delivery.stages import DeliveryStage, StageInput, remove_fields, run_pipeline
from tidings.mime.build import prepend_header
from tidings.mime.index import parse_headers_for_store
from tidings.model.directory import Principal
from tidings.model.errors import NotFound, PermissionDenied, PolicyRejection, QuotaExceeded
from tidings.model.ids import AccountId
from tidings.model.mail import SEEN, Appended, MailboxRole
from tidings.model.queue import QueuedMessage
from tidings.store.services import (
    BlobRef,
    BlobStore,
    DeliveredTo,
    MailService,
    NewMessage,
    ParsedHeaders,
    QueueService,
)

log = logging.getLogger(__name__)

# Parsing a large message for the index is CPU work: keep it off the event loop.
PARSE_IN_THREAD_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class RecipientEntry:
    resolved: ResolvedRecipient
    notify: str | None = None  # RFC 3461 NOTIFY, e.g. "FAILURE,DELAY"
    orcpt: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    sender: str  # "" for the null reverse-path
    recipients: tuple[RecipientEntry, ...]
    content: bytes  # the message as received (CRLF lines)
    received: ReceivedInfo
    submitted_by: Principal | None = None
    dsn_ret: str | None = None
    dsn_envid: str | None = None
    message_id: str = ""  # our id for the Received "id" clause; generated if empty


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    id: str
    blob: BlobRef
    delivered: tuple[DeliveredTo, ...]
    queued: QueuedMessage | None
    sent_copy: Appended | None
    # Local accounts the store skipped (over quota at commit time): a bounce is owed.
    undelivered: tuple[AccountId, ...] = ()


def to_parsed_headers(raw: bytes) -> ParsedHeaders:
    """What the store indexes about `raw` (mime's parse, the model's type)."""
    return parse_headers_for_store(raw)


class InboundDelivery:
    """The one path every accepted message takes into the store and the queue."""

    def __init__(
        self,
        *,
        mail: MailService,
        queue: QueueService,
        blobs: BlobStore,
        hostname: str,
        stages: Sequence[DeliveryStage] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.mail = mail
        self.queue = queue
        self.blobs = blobs
        self.hostname = hostname
        self.stages = list(stages)
        self.clock = clock
        self.on_enqueued = on_enqueued  # wakes the outbound scheduler

    async def deliver(self, request: DeliveryRequest) -> DeliveryReceipt:
        """Store, deliver and queue. Raises PolicyRejection, QuotaExceeded,
        TemporaryFailure (nothing was acknowledged; the client retries)."""
        message_id = request.message_id or new_message_id()
        resolved = tuple(entry.resolved for entry in request.recipients)
        remote = [entry for entry in request.recipients if entry.resolved.is_remote]
        if remote and request.submitted_by is None:
            raise PolicyRejection("Relay access denied", "5.7.1")
        only = resolved[0].address if len(resolved) == 1 else None
        trace = received_header(
            request.received, hostname=self.hostname, queue_id=message_id, recipient=only,
            now=self.clock(),
        )
        raw = trace + request.content
        verdict = await run_pipeline(
            self.stages,
            StageInput(request.sender, resolved, raw, request.submitted_by,
                       request.received.peer_host, request.received.ehlo_name),
        )
        if verdict.held is not None:
            # Quarantined: the stage stored it; an admin's release delivers it later.
            return DeliveryReceipt(message_id, verdict.held.blob, (), None, None)
        raw = remove_fields(raw, verdict.removed_fields)
        for name, value in reversed(verdict.added_fields):
            raw = prepend_header(raw, name, value)
        staged = await self.blobs.stage(raw)
        blob = staged.ref
        headers = await self._parse(raw)
        wanted = self._local_accounts(resolved, verdict.folder)
        delivered = []
        if wanted:
            # The blob's row rides in the delivery's commit (one group-commit round).
            delivered = await self.mail.deliver(list(wanted.items()), staged, headers)
        else:
            await self.blobs.record(staged)
        missing = tuple(set(wanted) - {copy.account_id for copy in delivered})
        if missing and not delivered and not remote:
            # Nothing was stored (every mailbox is full): refuse, so no bounce is needed.
            raise QuotaExceeded("every recipient's mailbox is full")
        if missing:
            log.warning("delivery.skipped_over_quota id=%s accounts=%s", message_id, missing)
        queued = None
        if remote:
            queued = await self.queue.enqueue(
                request.sender, [entry.resolved.address for entry in remote], blob,
                submitted_by=request.submitted_by.id if request.submitted_by else None,
                dsn_ret=request.dsn_ret, dsn_envid=request.dsn_envid,
                notify=[entry.notify for entry in remote],
                orcpt=[entry.orcpt for entry in remote],
            )
            if self.on_enqueued is not None:
                self.on_enqueued()
        sent = None
        if request.submitted_by is not None:
            sent = await self._sent_copy(request.submitted_by, blob, headers)
        log.info(
            "delivery.accepted id=%s size=%d local=%d remote=%d queue_id=%s",
            message_id, blob.size, len(delivered), len(remote), queued.id if queued else "-",
        )
        return DeliveryReceipt(message_id, blob, tuple(delivered), queued, sent, missing)

    async def _parse(self, raw: bytes) -> ParsedHeaders:
        if len(raw) >= PARSE_IN_THREAD_BYTES:
            return await asyncio.to_thread(to_parsed_headers, raw)
        return to_parsed_headers(raw)

    @staticmethod
    def _local_accounts(
        recipients: tuple[ResolvedRecipient, ...], folder: str | None
    ) -> dict[AccountId, MailboxRole | str]:
        """One copy per account (an alias and its owner get one), for one commit."""
        accounts: dict[AccountId, MailboxRole | str] = {}
        for recipient in recipients:
            for target in recipient.local:
                accounts.setdefault(target.account_id, folder or target.folder or MailboxRole.INBOX)
        return accounts

    async def _sent_copy(
        self, principal: Principal, blob: BlobRef, headers: ParsedHeaders
    ) -> Appended | None:
        """The submitter's Sent copy shares the blob; a missing Sent folder is not fatal."""
        account = account_of(principal)
        try:
            sent = await self.mail.mailbox_by_role(principal, account, MailboxRole.SENT)
            return await self.mail.append(
                principal,
                NewMessage(sent.id, blob, headers, frozenset({SEEN}), self.clock()),
            )
        except (NotFound, PermissionDenied, QuotaExceeded) as exc:
            log.warning(
                "delivery.sent_copy_failed account=%s error=%s", account, type(exc).__name__
            )
            return None
