"""The set-based queries behind `tidings check` (one pass per table, not per row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.ids import BlobId
from tidings.store.sql import schema

ACC = schema.accounts
MBX = schema.mailboxes
MM = schema.mailbox_messages
EM = schema.emails
CH = schema.changes
BL = schema.blobs
QM = schema.queue_messages


@dataclass(frozen=True, slots=True)
class AccountFacts:
    id: int
    modseq: int
    used_bytes: int
    message_count: int
    max_change: int
    max_mailbox_modseq: int
    max_message_modseq: int
    sum_bytes: int
    sum_count: int


@dataclass(frozen=True, slots=True)
class MailboxFacts:
    id: int
    account_id: int
    uid_next: int
    highest_modseq: int
    max_uid: int
    max_message_modseq: int


@dataclass(frozen=True, slots=True)
class OrphanBlob:
    id: BlobId
    size: int | None  # None: a file without a row
    stored_at: datetime  # last stored: the row's created_at, or the file's mtime
    file_only: bool = False


async def referenced_blob_ids(conn: AsyncConnection) -> list[BlobId]:
    """Every blob id an email or a queued message points at."""
    query = union(select(EM.c.blob_id.label("id")), select(QM.c.blob_id.label("id")))
    return sorted(BlobId(r.id) for r in await conn.execute(query))


async def _grouped(conn: AsyncConnection, stmt: Select[Any]) -> dict[int, int]:
    """{key: value} from a two-column GROUP BY query."""
    return {int(row[0]): int(row[1] or 0) for row in await conn.execute(stmt)}


async def load_accounts(conn: AsyncConnection) -> list[AccountFacts]:
    """Each account's counters next to what its rows say they should be."""
    changes = await _grouped(
        conn, select(CH.c.account_id, func.max(CH.c.modseq)).group_by(CH.c.account_id)
    )
    mailbox_modseq = await _grouped(
        conn, select(MBX.c.account_id, func.max(MBX.c.highest_modseq)).group_by(MBX.c.account_id)
    )
    message_modseq = await _grouped(
        conn,
        select(MBX.c.account_id, func.max(MM.c.modseq))
        .join(MM, MM.c.mailbox_id == MBX.c.id)
        .group_by(MBX.c.account_id),
    )
    sum_bytes = await _grouped(
        conn, select(EM.c.account_id, func.sum(EM.c.size)).group_by(EM.c.account_id)
    )
    sum_count = await _grouped(
        conn, select(EM.c.account_id, func.count()).group_by(EM.c.account_id)
    )
    rows = await conn.execute(select(ACC).order_by(ACC.c.id))
    return [
        AccountFacts(
            id=int(r.id),
            modseq=int(r.modseq),
            used_bytes=int(r.used_bytes),
            message_count=int(r.message_count),
            max_change=changes.get(r.id, 0),
            max_mailbox_modseq=mailbox_modseq.get(r.id, 0),
            max_message_modseq=message_modseq.get(r.id, 0),
            sum_bytes=sum_bytes.get(r.id, 0),
            sum_count=sum_count.get(r.id, 0),
        )
        for r in rows
    ]


async def load_mailboxes(conn: AsyncConnection) -> list[MailboxFacts]:
    """Each mailbox's UIDNEXT and HIGHESTMODSEQ next to its messages' maxima."""
    stats = (
        select(
            MM.c.mailbox_id,
            func.max(MM.c.uid).label("max_uid"),
            func.max(MM.c.modseq).label("max_modseq"),
        )
        .group_by(MM.c.mailbox_id)
        .subquery()
    )
    rows = await conn.execute(
        select(
            MBX.c.id,
            MBX.c.account_id,
            MBX.c.uid_next,
            MBX.c.highest_modseq,
            stats.c.max_uid,
            stats.c.max_modseq,
        )
        .outerjoin(stats, stats.c.mailbox_id == MBX.c.id)
        .order_by(MBX.c.id)
    )
    return [
        MailboxFacts(
            id=int(r.id),
            account_id=int(r.account_id),
            uid_next=int(r.uid_next),
            highest_modseq=int(r.highest_modseq),
            max_uid=int(r.max_uid or 0),
            max_message_modseq=int(r.max_modseq or 0),
        )
        for r in rows
    ]


def email_totals(account_id: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    """used_bytes / message_count as subqueries over the account's emails (the rule
    the mail service's charges follow), for an UPDATE of `accounts`."""
    return {
        "used_bytes": select(func.coalesce(func.sum(EM.c.size), 0))
        .where(EM.c.account_id == account_id)
        .scalar_subquery(),
        "message_count": select(func.count())
        .where(EM.c.account_id == account_id)
        .scalar_subquery(),
    }


def _unreferenced() -> list[ColumnElement[bool]]:
    return [
        ~exists().where(EM.c.blob_id == BL.c.id),
        ~exists().where(QM.c.blob_id == BL.c.id),
    ]


async def load_orphans(conn: AsyncConnection) -> list[OrphanBlob]:
    """Blob rows that no email and no queued message points at."""
    rows = await conn.execute(
        select(BL.c.id, BL.c.size, BL.c.created_at).where(*_unreferenced()).order_by(BL.c.id)
    )
    return [OrphanBlob(BlobId(r.id), int(r.size), r.created_at) for r in rows]


async def delete_unreferenced(
    conn: AsyncConnection, ids: list[BlobId], stored_before: datetime
) -> list[BlobId]:
    """Delete these blob rows if still unreferenced and not stored again since
    `stored_before` (a delivery in flight may have stored the same bytes again)."""
    deleted: list[BlobId] = []
    for blob_id in ids:
        result = await conn.execute(
            delete(BL).where(BL.c.id == blob_id, BL.c.created_at < stored_before, *_unreferenced())
        )
        if result.rowcount:
            deleted.append(blob_id)
    return deleted
