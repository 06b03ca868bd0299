"""The maildrop: the user's INBOX, locked for the session (RFC 1939 §4, §6).

RETR/TOP read blobs; QUIT's UPDATE flags and expunges the deleted messages and
commits before the +OK (STYLE.md §4). A session that ends otherwise deletes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.logctx import set_principal
from tidings.model.directory import Principal
from tidings.model.errors import NotFound
from tidings.model.ids import AccountId
from tidings.model.mail import DELETED, SEEN, FlagOperation, Mailbox, MailboxRole
from tidings.pop3.commands.locks import MaildropLocks
from tidings.pop3.responses import ResponseCode
from tidings.pop3.session import Content, MaildropEntry, Opened, Outcome, Refused, Updated

if TYPE_CHECKING:
    # Annotations only: the store package would pull in its SQL backends.
    from tidings.store.services import MailService

log = logging.getLogger(__name__)


def unique_id(mailbox: Mailbox, uid: int) -> str:
    """UIDL value: "<uidvalidity>.<uid>", stable while the INBOX keeps its UIDVALIDITY
    (RFC 1939 §7: 1 to 70 characters from 0x21 to 0x7E)."""
    return f"{mailbox.uid_validity}.{uid}"


class Maildrop:
    """The opened maildrop of one session, and its lock."""

    def __init__(self, mail: MailService, locks: MaildropLocks, *, holder: str) -> None:
        self.mail = mail
        self.locks = locks
        self.holder = holder
        self.principal: Principal | None = None
        self.mailbox: Mailbox | None = None
        self._locked: AccountId | None = None

    async def open(self, principal: Principal) -> Outcome:
        """Lock the principal's INBOX and list it. Raises TidingsError."""
        account = AccountId(principal.id)
        if not await self.locks.acquire(account, self.holder):
            return Refused("maildrop is in use by another session", ResponseCode.IN_USE)
        self._locked = account
        try:
            mailbox = await self._inbox(principal, account)
            messages = await self.mail.messages(principal, mailbox.id)
        except BaseException:
            await self.release()
            raise
        self.principal, self.mailbox = principal, mailbox
        set_principal(principal.name)
        entries = tuple(
            MaildropEntry(m.uid, unique_id(mailbox, m.uid), m.size, m.blob_id) for m in messages
        )
        log.info("pop3.opened principal=%s messages=%d", principal.name, len(entries))
        return Opened(principal.name, entries)

    async def _inbox(self, principal: Principal, account: AccountId) -> Mailbox:
        try:
            return await self.mail.mailbox_by_role(principal, account, MailboxRole.INBOX)
        except NotFound:
            return await self.mail.find_mailbox(principal, account, "INBOX")

    async def fetch(self, entry: MaildropEntry) -> Outcome:
        """The message's stored bytes. Raises NotFound if it was expunged meanwhile."""
        principal = self._require_principal()
        return Content(await self.mail.read_blob(principal, entry.blob_id))

    async def update(
        self, deleted: tuple[MaildropEntry, ...], retrieved: tuple[MaildropEntry, ...]
    ) -> Outcome:
        """RFC 1939 §6: remove the deleted messages, durably, then release the lock."""
        principal = self._require_principal()
        assert self.mailbox is not None
        mailbox_id = self.mailbox.id
        if retrieved:
            uids = [entry.uid for entry in retrieved]
            await self.mail.store_flags(
                principal, mailbox_id, uids, FlagOperation.ADD, frozenset({SEEN})
            )
        removed = 0
        if deleted:
            uids = [entry.uid for entry in deleted]
            await self.mail.store_flags(
                principal, mailbox_id, uids, FlagOperation.ADD, frozenset({DELETED})
            )
            removed = len(await self.mail.expunge(principal, mailbox_id, uids=uids))
        log.info("pop3.updated principal=%s deleted=%d", principal.name, removed)
        await self.release()
        return Updated(removed)

    async def release(self) -> None:
        account, self._locked = self._locked, None
        if account is not None:
            await self.locks.release(account, self.holder)

    def _require_principal(self) -> Principal:
        if self.principal is None:
            raise NotFound("no maildrop is open")
        return self.principal
