"""Account rows, the per-account modseq counter and the change log writer.

Every mutation of an account's data calls `next_modseq` once per operation and
`record_change` once per object touched: the one change log (ARCHITECTURE.md rule 2).
"""

from __future__ import annotations

import time

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.ids import AccountId, MailboxId, ModSeq
from tidings.model.mail import MailboxRole
from tidings.store.sql import schema
from tidings.store.sql.database import Tx

# The mailboxes every new account starts with (RFC 6154 roles).
DEFAULT_MAILBOXES: tuple[tuple[str, MailboxRole], ...] = (
    ("INBOX", MailboxRole.INBOX),
    ("Drafts", MailboxRole.DRAFTS),
    ("Sent", MailboxRole.SENT),
    ("Junk", MailboxRole.JUNK),
    ("Trash", MailboxRole.TRASH),
    ("Archive", MailboxRole.ARCHIVE),
)


def new_uid_validity() -> int:
    """Seconds since the epoch: increases across re-creations, fits in 32 bits until 2106."""
    return int(time.time()) & 0xFFFFFFFF or 1


# Built once: every write takes a modseq, and most record a change.
_NEXT_MODSEQ = (
    update(schema.accounts)
    .where(schema.accounts.c.id == bindparam("p_account"))
    .values(modseq=schema.accounts.c.modseq + 1)
    .returning(schema.accounts.c.modseq)
)
_RECORD_CHANGE = insert(schema.changes)


async def next_modseq(tx: Tx, account: AccountId) -> ModSeq:
    """Take the account's next modseq; the row lock orders concurrent writers."""
    result = await tx.conn.execute(_NEXT_MODSEQ, {"p_account": account})
    value = result.scalar_one_or_none()
    if value is None:
        from tidings.model.errors import NotFound

        raise NotFound(f"account {account} does not exist")
    return ModSeq(int(value))


async def record_change(
    conn: AsyncConnection,
    account: AccountId,
    modseq: ModSeq,
    kind: ObjectKind,
    object_id: int,
    op: ChangeOp,
    *,
    collection_id: int | None = None,
    uid: int | None = None,
) -> None:
    await conn.execute(
        _RECORD_CHANGE,
        {
            "account_id": account,
            "modseq": modseq,
            "kind": kind.value,
            "object_id": object_id,
            "collection_id": collection_id,
            "op": op.value,
            "uid": uid,
        },
    )


async def create_mailbox_row(
    tx: Tx,
    account: AccountId,
    name: str,
    role: MailboxRole | None,
    parent_id: MailboxId | None,
    modseq: ModSeq,
) -> MailboxId:
    result = await tx.conn.execute(
        insert(schema.mailboxes)
        .values(
            account_id=account,
            name=name,
            parent_id=parent_id,
            role=role.value if role else None,
            uid_validity=new_uid_validity(),
            uid_next=1,
            highest_modseq=modseq,
            subscribed=True,
            sort_order=0,
        )
        .returning(schema.mailboxes.c.id)
    )
    mailbox_id = MailboxId(int(result.scalar_one()))
    await record_change(tx.conn, account, modseq, ObjectKind.MAILBOX, mailbox_id, ChangeOp.CREATED)
    return mailbox_id


async def create_account(tx: Tx, account: AccountId) -> None:
    """The account row and its default mailboxes, in the caller's transaction."""
    await tx.conn.execute(
        insert(schema.accounts).values(
            id=account, modseq=0, pruned_modseq=0, used_bytes=0, message_count=0
        )
    )
    modseq = await next_modseq(tx, account)
    for name, role in DEFAULT_MAILBOXES:
        await create_mailbox_row(tx, account, name, role, None, modseq)
