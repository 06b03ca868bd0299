"""Getting a delivery status notification to the original sender: into the INBOX of
a local sender through `MailService.deliver`, or queued (from "<>") to a remote one.
Never for a message whose sender is "<>" (RFC 5321 §4.5.5, RFC 3464 §2)."""

from __future__ import annotations

import logging

from tidings.mime.index import parse_headers_for_store
from tidings.model.directory import Principal
from tidings.model.errors import NotFound
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store.services import (
    BlobStore,
    DirectoryService,
    MailService,
    ParsedHeaders,
    QueueService,
)

log = logging.getLogger(__name__)


def parsed_headers(raw: bytes) -> ParsedHeaders:
    return parse_headers_for_store(raw)


class NoticeSender:
    """Delivers reports to senders, local or remote."""

    def __init__(
        self,
        *,
        mail: MailService,
        queue: QueueService,
        blobs: BlobStore,
        directory: DirectoryService,
    ) -> None:
        self.mail = mail
        self.queue = queue
        self.blobs = blobs
        self.directory = directory

    async def send(self, sender: str, report: bytes) -> str:
        """Deliver `report` to `sender`; returns "local", "queued" or "dropped"."""
        if not sender:
            log.info("outbound.notice_dropped reason=null_sender")
            return "dropped"
        domain = sender.rpartition("@")[2].lower()
        if not await self._is_local_domain(domain):
            blob = await self.blobs.put(report)
            queued = await self.queue.enqueue("", [sender], blob)
            log.info("outbound.notice_queued queue_id=%d", queued.id)
            return "queued"
        principal = await self._local_principal(sender)
        if principal is None or not principal.kind.owns_data:
            log.warning("outbound.notice_dropped reason=no_local_mailbox sender=%s", sender)
            return "dropped"
        blob = await self.blobs.put(report)
        account = AccountId(int(principal.id))
        delivered = await self.mail.deliver(
            [(account, MailboxRole.INBOX)], blob, parsed_headers(report)
        )
        if not delivered:  # the store skips an account over its quota
            log.warning("outbound.notice_dropped reason=not_stored account=%d", account)
            return "dropped"
        log.info("outbound.notice_delivered account=%d", account)
        return "local"

    async def _is_local_domain(self, domain: str) -> bool:
        try:
            await self.directory.get_domain(domain)
        except NotFound:
            return False
        return True

    async def _local_principal(self, address: str) -> Principal | None:
        """By address or alias; `user+tag@` falls back to `user@`."""
        local, _, domain = address.rpartition("@")
        candidates = [address]
        if "+" in local:
            candidates.append(f"{local.partition('+')[0]}@{domain}")
        for candidate in candidates:
            try:
                return await self.directory.find_principal(candidate)
            except NotFound:
                continue
        return None
