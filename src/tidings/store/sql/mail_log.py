"""The mail side of the one change log: locks, counters, change records and reading them.

Every mail write takes one modseq per account per operation (`accounts.next_modseq`),
stamps each membership it touches with it, records one change per object, raises
the mailboxes' HIGHESTMODSEQ (RFC 7162 §3.1.2) and wakes subscribers after commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import Change, ChangeBatch, ChangeOp, ObjectKind
from tidings.model.errors import Conflict, NotFound, QuotaExceeded
from tidings.model.ids import AccountId, MailboxId, ModSeq
from tidings.store.sql import schema
from tidings.store.sql.accounts import record_change
from tidings.store.sql.database import Tx

Publish = Callable[[AccountId, ModSeq], None]


@dataclass(frozen=True, slots=True)
class QuotaState:
    used_bytes: int
    limit_bytes: int | None

    def fits(self, size: int) -> bool:
        return self.limit_bytes is None or self.used_bytes + size <= self.limit_bytes


# The hot statements of every delivery, built once: building and cache-keying a
# statement costs more than SQLite takes to run it. Parameter names must not be
# column names (an UPDATE would take those as SET values).
_LOCK_ACCOUNT = (
    select(schema.accounts.c.used_bytes, schema.principals.c.quota_bytes)
    .select_from(
        schema.accounts.join(schema.principals, schema.principals.c.id == schema.accounts.c.id)
    )
    .where(schema.accounts.c.id == bindparam("p_account"))
    .with_for_update(of=schema.accounts, key_share=True)
)
_CHARGE = (
    update(schema.accounts)
    .where(schema.accounts.c.id == bindparam("p_account"))
    .values(
        used_bytes=schema.accounts.c.used_bytes + bindparam("p_size"),
        message_count=schema.accounts.c.message_count + bindparam("p_count"),
    )
)
_TOUCH_MAILBOX = (
    update(schema.mailboxes)
    .where(schema.mailboxes.c.id == bindparam("p_mailbox"))
    .values(highest_modseq=bindparam("p_modseq"))
)


async def lock_account(conn: AsyncConnection, account: AccountId) -> QuotaState:
    """Lock the account row (PostgreSQL; SQLite writers already hold the database lock)
    so checks made now still hold at commit. Raises NotFound."""
    row = (await conn.execute(_LOCK_ACCOUNT, {"p_account": account})).one_or_none()
    if row is None:
        raise NotFound("no such account")
    limit = int(row.quota_bytes) if row.quota_bytes is not None else None
    return QuotaState(int(row.used_bytes), limit)


async def charge(conn: AsyncConnection, account: AccountId, size: int, count: int) -> None:
    """Add (or with negative values remove) bytes and messages to the account's use."""
    if size == 0 and count == 0:
        return
    await conn.execute(_CHARGE, {"p_account": account, "p_size": size, "p_count": count})


async def charge_within_quota(
    conn: AsyncConnection, account: AccountId, size: int, count: int
) -> None:
    """Charge the account; raises QuotaExceeded (RFC 9208 OVERQUOTA) if it would not fit."""
    state = await lock_account(conn, account)
    if size > 0 and not state.fits(size):
        raise QuotaExceeded(
            f"the mailbox is full: {state.used_bytes + size} bytes would exceed "
            f"the quota of {state.limit_bytes}"
        )
    await charge(conn, account, size, count)


async def touch_mailbox(conn: AsyncConnection, mailbox: MailboxId, modseq: ModSeq) -> None:
    """Raise the mailbox's HIGHESTMODSEQ to this operation's modseq."""
    await conn.execute(_TOUCH_MAILBOX, {"p_mailbox": mailbox, "p_modseq": modseq})


async def email_change(
    conn: AsyncConnection,
    account: AccountId,
    modseq: ModSeq,
    email_id: int,
    mailbox: int,
    uid: int,
    op: ChangeOp,
) -> None:
    """One membership created, updated or destroyed (a tombstone keeps the UID)."""
    await record_change(
        conn, account, modseq, ObjectKind.EMAIL, email_id, op, collection_id=mailbox, uid=uid
    )


async def mailbox_change(
    conn: AsyncConnection, account: AccountId, modseq: ModSeq, mailbox: int, op: ChangeOp
) -> None:
    await record_change(conn, account, modseq, ObjectKind.MAILBOX, mailbox, op)


def announce(tx: Tx, publish: Publish, account: AccountId, modseq: ModSeq) -> None:
    """Wake the account's subscribers once the transaction is durable, never before."""
    tx.after_commit(lambda: publish(account, modseq))


async def account_modseq(conn: AsyncConnection, account: AccountId) -> tuple[ModSeq, ModSeq]:
    """(highest, pruned) modseq of the account. Raises NotFound."""
    accounts = schema.accounts
    row = (
        await conn.execute(
            select(accounts.c.modseq, accounts.c.pruned_modseq).where(accounts.c.id == account)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such account")
    return ModSeq(int(row.modseq)), ModSeq(int(row.pruned_modseq))


async def read_changes(
    conn: AsyncConnection,
    account: AccountId,
    since: ModSeq,
    limit: int,
    visible: tuple[Collection[int], Collection[int]] | None = None,
) -> ChangeBatch:
    """Changes after `since`, oldest first. `visible` = (mailboxes the reader can look
    up, mailboxes it can read) limits them to mailbox changes of the first and
    email changes in the second; None means the whole account.

    A batch never splits one modseq's changes, so resuming from `until` loses
    nothing (one modseq may exceed `limit` on its own). Raises Conflict when the
    log before `since` was pruned.
    """
    highest, pruned = await account_modseq(conn, account)
    if since < pruned:
        raise Conflict(f"changes before modseq {pruned} were pruned; resynchronise fully")
    # Read the bound first: on PostgreSQL each statement sees newer commits.
    changes = schema.changes
    query = select(changes).where(
        changes.c.account_id == account,
        changes.c.modseq > since,
        changes.c.modseq <= highest,
    )
    if visible is not None:
        lookup, readable = list(visible[0]), list(visible[1])
        query = query.where(
            or_(
                and_(
                    changes.c.kind == ObjectKind.EMAIL.value,
                    changes.c.collection_id.in_(readable),
                ),
                and_(changes.c.kind == ObjectKind.MAILBOX.value, changes.c.object_id.in_(lookup)),
            )
        )
    ordered = query.order_by(changes.c.modseq, changes.c.id)
    rows = list((await conn.execute(ordered.limit(limit + 1))).all())
    until, has_more = highest, False
    if len(rows) > limit:
        has_more = True
        cut = int(rows[limit].modseq)
        kept = [row for row in rows if int(row.modseq) < cut]
        if not kept:  # a single modseq larger than the limit: return all of it
            kept = list((await conn.execute(ordered.where(changes.c.modseq == cut))).all())
        rows, until = kept, ModSeq(int(kept[-1].modseq))
    return ChangeBatch(
        account_id=account,
        since=since,
        until=until,
        changes=tuple(
            Change(
                account_id=account,
                modseq=ModSeq(int(row.modseq)),
                kind=ObjectKind(row.kind),
                object_id=int(row.object_id),
                collection_id=int(row.collection_id) if row.collection_id is not None else None,
                op=ChangeOp(row.op),
                uid=int(row.uid) if row.uid is not None else None,
            )
            for row in rows
        ),
        has_more=has_more,
    )
