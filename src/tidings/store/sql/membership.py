"""COPY, MOVE and EXPUNGE (RFC 9051 §6.4.3, §6.4.7; RFC 6851; RFC 4315 UIDPLUS).

A copy is a new email row sharing the blob, with a new UID in the target. A move
within one account keeps the email id and gives it a new UID in the target; it is
logged as a tombstone in the source plus a creation in the target, both at the
same modseq. An email whose last membership goes is deleted with its index entry,
and the account's counters drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp
from tidings.model.ids import UID, AccountId, MailboxId, ModSeq
from tidings.model.mail import DELETED, SEEN, Moved
from tidings.store.search import unindex_emails
from tidings.store.sql import schema
from tidings.store.sql.access import MailboxAccess
from tidings.store.sql.accounts import next_modseq
from tidings.store.sql.database import Tx
from tidings.store.sql.flags import message_rows
from tidings.store.sql.mail_log import (
    Publish,
    announce,
    charge,
    email_change,
    lock_account,
    touch_mailbox,
)
from tidings.store.sql.mail_rows import chunks, row_flags
from tidings.store.sql.messages import (
    EmailDraft,
    Placement,
    allocate_uids,
    permitted_flags,
    place,
)
from tidings.store.sql.types import utcnow

ENVELOPE_COLUMNS = (
    "sent_at",
    "subject",
    "base_subject",
    "from_",
    "sender",
    "reply_to",
    "to_",
    "cc",
    "bcc",
    "message_id",
    "in_reply_to",
    "references",
)


async def lock_accounts(conn: AsyncConnection, *accounts: AccountId) -> None:
    """Lock account rows in id order, so two writers never wait on each other in a cycle."""
    for account in sorted(set(accounts)):
        await lock_account(conn, account)


def _empty(target: MailboxAccess) -> Moved:
    return Moved(target.mailbox.uid_validity, (), (), target.mailbox.highest_modseq)


async def copy(
    tx: Tx, source: MailboxAccess, uids: Sequence[UID], target: MailboxAccess, publish: Publish
) -> Moved:
    """Copy messages; UIDs not in the source are ignored. Raises QuotaExceeded."""
    await lock_accounts(tx.conn, source.mailbox.account_id, target.mailbox.account_id)
    rows = await message_rows(tx.conn, source, uids)
    if not rows:
        return _empty(target)
    emails = await _email_rows(tx.conn, [int(row.email_id) for row in rows])
    same_account = source.mailbox.account_id == target.mailbox.account_id
    placements = []
    for row in rows:
        # The copy carries the flags as the actor sees them, as far as it may set them.
        flags = permitted_flags(target.rights, row_flags(row, source.private_seen))
        seen_by = None
        if target.private_seen and SEEN in flags:
            flags, seen_by = flags - {SEEN}, target.account.actor_id
        email = emails[int(row.email_id)]
        draft = EmailDraft(
            blob_id=email.blob_id,
            size=int(email.size),
            received_at=email.received_at,
            envelope={name: getattr(email, name) for name in ENVELOPE_COLUMNS},
            keywords=flags,
            index=int(email.id),
            seen_by=seen_by,
            thread_id=int(email.thread_id) if same_account else None,
        )
        placements.append(Placement(target.mailbox, draft))
    appended = await place(tx, placements, publish)
    return Moved(
        uid_validity=appended[0].uid_validity,
        source_uids=tuple(UID(int(row.uid)) for row in rows),
        target_uids=tuple(a.uid for a in appended),
        modseq=appended[0].modseq,
    )


async def move(
    tx: Tx, source: MailboxAccess, uids: Sequence[UID], target: MailboxAccess, publish: Publish
) -> Moved:
    """Move messages (RFC 6851); across accounts, a copy and an expunge in one transaction."""
    if source.mailbox.account_id != target.mailbox.account_id:
        moved = await copy(tx, source, uids, target, publish)
        if moved.source_uids:
            rows = await message_rows(tx.conn, source, moved.source_uids)
            await _remove_and_log(tx, source, rows, publish)
        return moved
    account = source.mailbox.account_id
    await lock_account(tx.conn, account)
    rows = await message_rows(tx.conn, source, uids)
    if not rows:
        return _empty(target)
    modseq = await next_modseq(tx, account)
    uid_validity, first = await allocate_uids(tx.conn, target.mailbox.id, len(rows), modseq)
    mm = schema.mailbox_messages
    target_uids: list[UID] = []
    for offset, row in enumerate(rows):
        new_uid = UID(first + offset)
        await tx.conn.execute(
            update(mm)
            .where(mm.c.mailbox_id == source.mailbox.id, mm.c.uid == row.uid)
            .values(mailbox_id=target.mailbox.id, uid=new_uid, modseq=modseq, saved_at=utcnow())
        )
        email_id = int(row.email_id)
        await email_change(
            tx.conn, account, modseq, email_id, source.mailbox.id, int(row.uid), ChangeOp.DESTROYED
        )
        await email_change(
            tx.conn, account, modseq, email_id, target.mailbox.id, new_uid, ChangeOp.CREATED
        )
        target_uids.append(new_uid)
    await touch_mailbox(tx.conn, source.mailbox.id, modseq)
    announce(tx, publish, account, modseq)
    return Moved(
        uid_validity=uid_validity,
        source_uids=tuple(UID(int(row.uid)) for row in rows),
        target_uids=tuple(target_uids),
        modseq=modseq,
    )


async def expunge(
    tx: Tx, access: MailboxAccess, uids: Sequence[UID] | None, publish: Publish
) -> list[UID]:
    """Remove the messages flagged \\Deleted (among `uids` if given); returns their UIDs."""
    await lock_account(tx.conn, access.mailbox.account_id)
    rows = [
        row
        for row in await message_rows(tx.conn, access, uids)
        if DELETED in row_flags(row, access.private_seen)
    ]
    if not rows:
        return []
    await _remove_and_log(tx, access, rows, publish)
    return [UID(int(row.uid)) for row in rows]


async def _remove_and_log(
    tx: Tx, access: MailboxAccess, rows: Sequence[Row[Any]], publish: Publish
) -> ModSeq:
    account = access.mailbox.account_id
    modseq = await next_modseq(tx, account)
    await remove_memberships(tx.conn, account, access.mailbox.id, rows, modseq)
    await touch_mailbox(tx.conn, access.mailbox.id, modseq)
    announce(tx, publish, account, modseq)
    return modseq


async def remove_memberships(
    conn: AsyncConnection,
    account: AccountId,
    mailbox: MailboxId,
    rows: Sequence[Row[Any]],
    modseq: ModSeq,
) -> None:
    """Delete memberships (rows with email_id, uid, size), log tombstones, and delete
    emails left in no mailbox, with their index entries and their share of the counters."""
    mm, emails = schema.mailbox_messages, schema.emails
    for chunk in chunks(int(row.uid) for row in rows):
        await conn.execute(delete(mm).where(mm.c.mailbox_id == mailbox, mm.c.uid.in_(chunk)))
    email_ids = sorted({int(row.email_id) for row in rows})
    remaining: set[int] = set()
    for chunk in chunks(email_ids):
        found = await conn.execute(select(mm.c.email_id).where(mm.c.email_id.in_(chunk)))
        remaining.update(int(e) for e in found.scalars())
    orphans = [e for e in email_ids if e not in remaining]
    sizes = {int(row.email_id): int(row.size) for row in rows}
    for chunk in chunks(orphans):
        await conn.execute(delete(emails).where(emails.c.id.in_(chunk)))
    await unindex_emails(conn, conn.dialect.name, orphans)
    await charge(conn, account, -sum(sizes[e] for e in orphans), -len(orphans))
    for row in rows:
        await email_change(
            conn, account, modseq, int(row.email_id), mailbox, int(row.uid), ChangeOp.DESTROYED
        )


async def _email_rows(conn: AsyncConnection, email_ids: Sequence[int]) -> dict[int, Row[Any]]:
    found: dict[int, Row[Any]] = {}
    for chunk in chunks(sorted(set(email_ids))):
        for row in await conn.execute(select(schema.emails).where(schema.emails.c.id.in_(chunk))):
            found[int(row.id)] = row
    return found
