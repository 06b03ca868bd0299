"""`SQLMailService`: the MailService on SQLite and PostgreSQL.

Each method opens one read or write transaction, makes the one authorization
check of `store.sql.access` inside it, and delegates to the module that owns the
semantics (mailboxes, messages, flags, membership, mailbox_acl, mail_log).
Writes return after the group commit is durable; subscribers are woken after it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import Right
from tidings.model.changes import ChangeBatch
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import UID, AccountId, BlobId, EmailId, MailboxId, ModSeq
from tidings.model.mail import (
    Appended,
    Email,
    FlagOperation,
    Keyword,
    Mailbox,
    MailboxRole,
    MailboxStatus,
    Message,
    Moved,
    Quota,
)
from tidings.store import search
from tidings.store.blobs import SQLBlobStore
from tidings.store.services import (
    BlobRef,
    BlobStore,
    ChangeNotifier,
    DeliveredTo,
    MessageChanges,
    NewMessage,
    ParsedHeaders,
    StagedBlob,
)
from tidings.store.sql import email_reads, mailbox_acl, mailboxes, membership, schema
from tidings.store.sql import flags as flag_ops
from tidings.store.sql import mail_log as log_ops
from tidings.store.sql.access import account_access, open_account, open_mailbox
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.mail_delivery import deliver_copies
from tidings.store.sql.message_changes import blob_rows, changed_since
from tidings.store.sql.messages import Placement, draft_from_headers, permitted_flags, place

log = logging.getLogger(__name__)


class SQLMailService:
    """Mailboxes and messages of every account (see `MailService` for the contract)."""

    def __init__(self, db: Database, blobs: BlobStore, notifier: ChangeNotifier) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier

    def _publish(self, account: AccountId, modseq: ModSeq) -> None:
        self.notifier.publish(account, modseq)

    # --- mailboxes -------------------------------------------------------------
    async def list_mailboxes(self, actor: Principal, account: AccountId) -> Sequence[Mailbox]:
        async def run(conn: AsyncConnection) -> list[Mailbox]:
            access, _visible = await open_account(conn, actor, account)
            return await mailboxes.sorted_visible(conn, access)

        return await self.db.read(run)

    async def accessible_accounts(self, actor: Principal) -> Sequence[tuple[AccountId, str]]:
        async def run(conn: AsyncConnection) -> Sequence[tuple[AccountId, str]]:
            return await mailbox_acl.accessible_accounts(conn, actor)

        return await self.db.read(run)

    async def get_mailbox(self, actor: Principal, mailbox: MailboxId) -> Mailbox:
        async def run(conn: AsyncConnection) -> Mailbox:
            return (await open_mailbox(conn, actor, mailbox)).mailbox

        return await self.db.read(run)

    async def find_mailbox(self, actor: Principal, account: AccountId, name: str) -> Mailbox:
        async def run(conn: AsyncConnection) -> Mailbox:
            await account_access(conn, actor, account)
            found = await mailboxes.find_by_name(conn, account, name)
            return (await open_mailbox(conn, actor, found)).mailbox

        return await self.db.read(run, quick=True)

    async def mailbox_by_role(
        self, actor: Principal, account: AccountId, role: MailboxRole
    ) -> Mailbox:
        async def run(conn: AsyncConnection) -> Mailbox:
            await account_access(conn, actor, account)
            found = await mailboxes.find_by_role(conn, account, role)
            return (await open_mailbox(conn, actor, found)).mailbox

        return await self.db.read(run, quick=True)

    async def create_mailbox(
        self, actor: Principal, account: AccountId, name: str, role: MailboxRole | None = None
    ) -> Mailbox:
        async def run(tx: Tx) -> Mailbox:
            access = await account_access(tx.conn, actor, account)
            return await mailboxes.create_mailbox(tx, access, name, role, self._publish)

        return await self.db.write(run)

    async def rename_mailbox(self, actor: Principal, mailbox: MailboxId, new_name: str) -> Mailbox:
        async def run(tx: Tx) -> Mailbox:
            opened = await open_mailbox(tx.conn, actor, mailbox, Right.DELETE_MAILBOX)
            return await mailboxes.rename_mailbox(tx, opened, new_name, self._publish)

        return await self.db.write(run)

    async def delete_mailbox(self, actor: Principal, mailbox: MailboxId) -> None:
        async def run(tx: Tx) -> None:
            opened = await open_mailbox(tx.conn, actor, mailbox, Right.DELETE_MAILBOX)
            await mailboxes.delete_mailbox(tx, opened, self._publish)

        await self.db.write(run)

    async def set_subscribed(self, actor: Principal, mailbox: MailboxId, subscribed: bool) -> None:
        async def run(tx: Tx) -> None:
            opened = await open_mailbox(tx.conn, actor, mailbox)
            await mailboxes.set_subscribed(tx, opened, subscribed, self._publish)

        await self.db.write(run)

    async def mailbox_status(self, actor: Principal, mailbox: MailboxId) -> MailboxStatus:
        async def run(conn: AsyncConnection) -> MailboxStatus:
            opened = await open_mailbox(conn, actor, mailbox, Right.READ)
            return await flag_ops.mailbox_status(conn, opened)

        return await self.db.read(run)

    async def my_rights(self, actor: Principal, mailbox: MailboxId) -> frozenset[Right]:
        async def run(conn: AsyncConnection) -> frozenset[Right]:
            return (await open_mailbox(conn, actor, mailbox)).rights

        return await self.db.read(run)

    async def get_acl(
        self, actor: Principal, mailbox: MailboxId
    ) -> Sequence[tuple[str, frozenset[Right]]]:
        async def run(conn: AsyncConnection) -> list[tuple[str, frozenset[Right]]]:
            opened = await open_mailbox(conn, actor, mailbox, Right.ADMINISTER)
            return await mailbox_acl.get_acl(conn, opened)

        return await self.db.read(run)

    async def set_acl(
        self, actor: Principal, mailbox: MailboxId, identifier: str, rights: frozenset[Right]
    ) -> None:
        async def run(tx: Tx) -> None:
            opened = await open_mailbox(tx.conn, actor, mailbox, Right.ADMINISTER)
            await mailbox_acl.set_acl(tx, opened, identifier, rights, self._publish)

        await self.db.write(run)

    # --- messages --------------------------------------------------------------
    async def append(self, actor: Principal, message: NewMessage) -> Appended:
        return (await self.append_many(actor, [message]))[0]

    async def append_many(self, actor: Principal, messages: Sequence[NewMessage]) -> list[Appended]:
        if not messages:
            return []

        async def run(tx: Tx) -> list[Appended]:
            placements = []
            opened = {}
            for message in messages:
                if message.mailbox_id not in opened:
                    opened[message.mailbox_id] = await open_mailbox(
                        tx.conn, actor, message.mailbox_id, Right.INSERT
                    )
                target = opened[message.mailbox_id]
                keywords = permitted_flags(target.rights, message.keywords)
                draft = draft_from_headers(
                    message.blob,
                    message.headers,
                    keywords,
                    message.received_at,
                    private_seen_for=actor.id if target.private_seen else None,
                )
                placements.append(Placement(target.mailbox, draft))
            return await place(tx, placements, self._publish)

        return await self.db.write(run)

    async def deliver(
        self,
        accounts: Sequence[tuple[AccountId, MailboxRole | str]],
        blob: BlobRef | StagedBlob,
        headers: ParsedHeaders,
        keywords: frozenset[Keyword] = frozenset(),
    ) -> list[DeliveredTo]:
        """System delivery in one commit. Accounts that are over quota or gone get no
        copy and are missing from the result (the caller bounces for them). A staged
        blob's row is part of the same commit: one group-commit round, not two."""
        staged = blob if isinstance(blob, StagedBlob) else None
        ref = blob.ref if isinstance(blob, StagedBlob) else blob

        async def run(tx: Tx) -> list[DeliveredTo]:
            if staged is not None:
                await SQLBlobStore.write_row(tx.conn, staged)
            return await deliver_copies(tx, accounts, ref, headers, keywords, self._publish)

        delivered = await self.db.write(run)
        log.info(
            "mail.delivered blob=%s copies=%d wanted=%d", ref.id, len(delivered), len(accounts)
        )
        return delivered

    async def messages(
        self, actor: Principal, mailbox: MailboxId, *, since_uid: UID | None = None
    ) -> Sequence[Message]:
        async def run(conn: AsyncConnection) -> list[Message]:
            opened = await open_mailbox(conn, actor, mailbox, Right.READ)
            return await flag_ops.list_messages(conn, opened, since_uid)

        return await self.db.read(run)

    async def messages_changed_since(
        self, actor: Principal, mailbox: MailboxId, modseq: ModSeq
    ) -> MessageChanges:
        async def run(conn: AsyncConnection) -> MessageChanges:
            opened = await open_mailbox(conn, actor, mailbox, Right.READ)
            return await changed_since(conn, opened, modseq)

        return await self.db.read(run)

    async def read_message_blobs(
        self, actor: Principal, mailbox: MailboxId, uids: Sequence[UID]
    ) -> Sequence[tuple[UID, bytes]]:
        async def run(conn: AsyncConnection) -> list[tuple[UID, BlobId, bytes | None]]:
            opened = await open_mailbox(conn, actor, mailbox, Right.READ)
            return await blob_rows(conn, opened, uids)

        out: list[tuple[UID, bytes]] = []
        for uid, blob_id, data in await self.db.read(run):
            if data is None:  # a large blob kept in a file
                try:
                    data = await self.blobs.get(blob_id)
                except NotFound:
                    continue
            out.append((uid, data))
        return out

    async def get_email(self, actor: Principal, email: EmailId) -> Email:
        async def run(conn: AsyncConnection) -> Email:
            return await email_reads.load_email(conn, actor, email)

        return await self.db.read(run)

    async def read_blob(self, actor: Principal, blob_id: BlobId) -> bytes:
        async def run(conn: AsyncConnection) -> bool:
            return await email_reads.blob_readable(conn, actor, blob_id)

        if not await self.db.read(run):
            raise NotFound("no such blob")
        return await self.blobs.get(blob_id)

    async def store_flags(
        self,
        actor: Principal,
        mailbox: MailboxId,
        uids: Sequence[UID],
        operation: FlagOperation,
        flags: frozenset[Keyword],
        unchanged_since: ModSeq | None = None,
    ) -> tuple[Sequence[Message], Sequence[UID]]:
        async def run(tx: Tx) -> tuple[list[Message], list[UID]]:
            opened = await open_mailbox(tx.conn, actor, mailbox, Right.READ)
            return await flag_ops.store_flags(
                tx, opened, uids, operation, flags, unchanged_since, self._publish
            )

        return await self.db.write(run)

    async def copy(
        self, actor: Principal, source: MailboxId, uids: Sequence[UID], target: MailboxId
    ) -> Moved:
        async def run(tx: Tx) -> Moved:
            opened = await open_mailbox(tx.conn, actor, source, Right.READ)
            into = await open_mailbox(tx.conn, actor, target, Right.INSERT)
            return await membership.copy(tx, opened, uids, into, self._publish)

        return await self.db.write(run)

    async def move(
        self, actor: Principal, source: MailboxId, uids: Sequence[UID], target: MailboxId
    ) -> Moved:
        async def run(tx: Tx) -> Moved:
            # RFC 6851 §3.3: MOVE needs what COPY, STORE \Deleted and EXPUNGE need.
            opened = await open_mailbox(
                tx.conn, actor, source, Right.READ, Right.DELETE_MESSAGES, Right.EXPUNGE
            )
            into = await open_mailbox(tx.conn, actor, target, Right.INSERT)
            return await membership.move(tx, opened, uids, into, self._publish)

        return await self.db.write(run)

    async def expunge(
        self, actor: Principal, mailbox: MailboxId, uids: Sequence[UID] | None = None
    ) -> Sequence[UID]:
        async def run(tx: Tx) -> list[UID]:
            opened = await open_mailbox(tx.conn, actor, mailbox, Right.EXPUNGE)
            return await membership.expunge(tx, opened, uids, self._publish)

        return await self.db.write(run)

    async def search_text(
        self, actor: Principal, mailbox: MailboxId, query: str, *, field: str = "text"
    ) -> Sequence[UID]:
        """Whole-word, all-words match (see `store.search`); a query without words
        matches every message."""
        try:
            search.check_field(field)
        except ValueError as exc:
            raise InvalidInput(str(exc), "field") from exc

        async def run(conn: AsyncConnection) -> list[UID]:
            await open_mailbox(conn, actor, mailbox, Right.READ)
            mm = schema.mailbox_messages
            query_ids = search.matching_email_ids(conn.dialect.name, field, query)
            uids = select(mm.c.uid).where(mm.c.mailbox_id == mailbox)
            if query_ids is not None:
                uids = uids.where(mm.c.email_id.in_(query_ids.scalar_subquery()))
            rows = await conn.execute(uids.order_by(mm.c.uid))
            return [UID(int(uid)) for uid in rows.scalars()]

        return await self.db.read(run)

    async def quota(self, actor: Principal, account: AccountId) -> Quota:
        async def run(conn: AsyncConnection) -> Quota:
            await open_account(conn, actor, account)
            accounts, principals = schema.accounts, schema.principals
            row = (
                await conn.execute(
                    select(
                        accounts.c.used_bytes, accounts.c.message_count, principals.c.quota_bytes
                    )
                    .select_from(accounts.join(principals, principals.c.id == accounts.c.id))
                    .where(accounts.c.id == account)
                )
            ).one()
            limit = int(row.quota_bytes) if row.quota_bytes is not None else None
            return Quota(int(row.used_bytes), limit, int(row.message_count))

        return await self.db.read(run, quick=True)

    # --- change log -------------------------------------------------------------
    async def changes_since(
        self, actor: Principal, account: AccountId, modseq: ModSeq, *, limit: int = 10000
    ) -> ChangeBatch:
        if limit < 1:
            raise InvalidInput("limit must be at least 1", "limit")

        async def run(conn: AsyncConnection) -> ChangeBatch:
            access, visible = await open_account(conn, actor, account)
            scope = None
            if not access.full:
                lookup = [m.id for m, _r in visible]
                readable = [m.id for m, rights in visible if Right.READ in rights]
                scope = (lookup, readable)
            return await log_ops.read_changes(conn, account, modseq, limit, scope)

        return await self.db.read(run)

    async def highest_modseq(self, actor: Principal, account: AccountId) -> ModSeq:
        async def run(conn: AsyncConnection) -> ModSeq:
            await open_account(conn, actor, account)
            return (await log_ops.account_modseq(conn, account))[0]

        return await self.db.read(run)
