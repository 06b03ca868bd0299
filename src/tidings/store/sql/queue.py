"""The persistent outbound queue: one message row, one state row per recipient.

A recipient is pending until it is delivered or fails permanently; a message
is due when any pending recipient's next attempt time has come.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Exists, Row, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import BlobId, PrincipalId, QueueId
from tidings.model.queue import QueuedMessage, QueueRecipient, RecipientState
from tidings.store.services import BlobRef
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

QM = schema.queue_messages
QR = schema.queue_recipients
ORCPT_MAX_CHARS = 500  # the column's width


def _recipient_from_row(row: Row[Any]) -> QueueRecipient:
    return QueueRecipient(
        address=row.address,
        state=RecipientState(row.state),
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        notify=row.notify,
        orcpt=row.orcpt,
    )


def _message_from_rows(row: Row[Any], recipients: Sequence[QueueRecipient]) -> QueuedMessage:
    return QueuedMessage(
        id=QueueId(int(row.id)),
        sender=row.sender,
        blob_id=BlobId(row.blob_id),
        size=int(row.size),
        created_at=row.created_at,
        recipients=tuple(recipients),
        submitted_by=None if row.submitted_by is None else PrincipalId(int(row.submitted_by)),
        dsn_ret=row.dsn_ret,
        dsn_envid=row.dsn_envid,
        delay_notified=bool(row.delay_notified),
    )


async def _load(conn: AsyncConnection, ids: Sequence[int]) -> list[QueuedMessage]:
    """The messages with these ids, in the given order, with their recipients."""
    if not ids:
        return []
    messages = {r.id: r for r in await conn.execute(select(QM).where(QM.c.id.in_(ids)))}
    recipients: dict[int, list[QueueRecipient]] = {}
    rows = await conn.execute(
        select(QR).where(QR.c.queue_id.in_(ids)).order_by(QR.c.queue_id, QR.c.address)
    )
    for row in rows:
        recipients.setdefault(row.queue_id, []).append(_recipient_from_row(row))
    return [_message_from_rows(messages[i], recipients.get(i, [])) for i in ids if i in messages]


async def _load_one(conn: AsyncConnection, queue_id: QueueId) -> QueuedMessage:
    found = await _load(conn, [queue_id])
    if not found:
        raise NotFound(f"queued message {queue_id} does not exist")
    return found[0]


def _pending_due(now: datetime) -> Exists:
    """SQL: the queue_messages row has a pending recipient due at `now`."""
    return exists().where(
        QR.c.queue_id == QM.c.id,
        QR.c.state == RecipientState.PENDING.value,
        or_(QR.c.next_attempt_at.is_(None), QR.c.next_attempt_at <= now),
    )


def _has_due_recipient(message: QueuedMessage, now: datetime) -> bool:
    return any(
        r.state is RecipientState.PENDING
        and (r.next_attempt_at is None or r.next_attempt_at <= now)
        for r in message.recipients
    )


class SQLQueueService:
    """`QueueService` for SQLite and PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(
        self,
        sender: str,
        recipients: Sequence[str],
        blob: BlobRef,
        *,
        submitted_by: PrincipalId | None = None,
        dsn_ret: str | None = None,
        dsn_envid: str | None = None,
        notify: Sequence[str | None] | None = None,
        orcpt: Sequence[str | None] | None = None,
    ) -> QueuedMessage:
        """Queue `blob` for each recipient (duplicates once); `notify` and `orcpt` are
        per recipient (RFC 3461 NOTIFY and ORCPT). Raises InvalidInput."""
        if not recipients:
            raise InvalidInput("a queued message needs at least one recipient")
        for address in (sender, *recipients):
            if len(address) > 320:
                raise InvalidInput(f"address longer than 320 characters: {address[:40]}...")
        if notify is not None and len(notify) != len(recipients):
            raise InvalidInput("notify must have one entry per recipient", field="notify")
        if orcpt is not None and len(orcpt) != len(recipients):
            raise InvalidInput("orcpt must have one entry per recipient", field="orcpt")
        notes = list(notify) if notify is not None else [None] * len(recipients)
        originals = list(orcpt) if orcpt is not None else [None] * len(recipients)
        for original in originals:
            if original is not None and len(original) > ORCPT_MAX_CHARS:
                raise InvalidInput(f"ORCPT longer than {ORCPT_MAX_CHARS} characters", field="orcpt")
        unique: dict[str, tuple[str | None, str | None]] = {}
        for address, note, original in zip(recipients, notes, originals, strict=True):
            unique.setdefault(address, (note, original))

        async def _enqueue(tx: Tx) -> QueuedMessage:
            now = utcnow()
            queue_id = (
                await tx.conn.execute(
                    QM.insert()
                    .values(
                        sender=sender,
                        blob_id=blob.id,
                        size=blob.size,
                        created_at=now,
                        submitted_by=submitted_by,
                        dsn_ret=dsn_ret,
                        dsn_envid=dsn_envid,
                        delay_notified=False,
                    )
                    .returning(QM.c.id)
                )
            ).scalar_one()
            await tx.conn.execute(
                QR.insert(),
                [
                    {
                        "queue_id": queue_id,
                        "address": address,
                        "notify": note,
                        "state": RecipientState.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "last_error": None,
                        "orcpt": original,
                    }
                    for address, (note, original) in unique.items()
                ],
            )
            return await _load_one(tx.conn, QueueId(int(queue_id)))

        queued = await self.db.write(_enqueue)
        log.info("queue.enqueued id=%d recipients=%d size=%d", queued.id, len(unique), blob.size)
        return queued

    async def get(self, queue_id: QueueId) -> QueuedMessage:
        """Raises NotFound."""
        return await self.db.read(lambda conn: _load_one(conn, queue_id))

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[QueuedMessage]:
        """Queued messages, oldest first."""

        async def _list(conn: AsyncConnection) -> list[QueuedMessage]:
            ids = (
                await conn.execute(select(QM.c.id).order_by(QM.c.id).offset(offset).limit(limit))
            ).scalars()
            return await _load(conn, [int(i) for i in ids])

        return await self.db.read(_list)

    async def due(self, now: datetime, limit: int = 100) -> Sequence[QueuedMessage]:
        """Messages with a pending recipient whose next attempt is at or before `now`."""
        pending_due = _pending_due(now)

        async def _due(conn: AsyncConnection) -> list[QueuedMessage]:
            ids = (
                await conn.execute(
                    select(QM.c.id).where(pending_due).order_by(QM.c.id).limit(limit)
                )
            ).scalars()
            return await _load(conn, [int(i) for i in ids])

        return await self.db.read(_due)

    async def claim(
        self,
        now: datetime,
        lease_seconds: float,
        limit: int = 100,
        *,
        exclude: Collection[QueueId] = (),
    ) -> Sequence[QueuedMessage]:
        """Lease due messages to this node: their due recipients' next attempt moves to
        `now + lease_seconds`. Returns the messages as they were before the lease.

        On PostgreSQL the message rows are locked with FOR UPDATE SKIP LOCKED, so two
        nodes claiming at once take different messages; on SQLite the single writer
        serialises claims."""
        lease_until = now + timedelta(seconds=lease_seconds)
        query = select(QM.c.id).where(_pending_due(now)).order_by(QM.c.id).limit(limit)
        if exclude:
            query = query.where(QM.c.id.not_in(list(exclude)))
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=QM)

        async def _claim(tx: Tx) -> list[QueuedMessage]:
            ids = [int(i) for i in (await tx.conn.execute(query)).scalars()]
            # A new statement, so under READ COMMITTED a lease another node committed
            # before we got the row lock is visible now: re-check what is still due.
            claimed = [m for m in await _load(tx.conn, ids) if _has_due_recipient(m, now)]
            if claimed:
                await tx.conn.execute(
                    update(QR)
                    .where(
                        QR.c.queue_id.in_([m.id for m in claimed]),
                        QR.c.state == RecipientState.PENDING.value,
                        or_(QR.c.next_attempt_at.is_(None), QR.c.next_attempt_at <= now),
                    )
                    .values(next_attempt_at=lease_until)
                )
            return claimed

        claimed = await self.db.write(_claim)
        if claimed:
            log.info("queue.claimed count=%d lease_seconds=%g", len(claimed), lease_seconds)
        return claimed

    async def record_attempt(
        self,
        queue_id: QueueId,
        address: str,
        *,
        delivered: bool,
        permanent: bool,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        """Record one delivery attempt for one recipient. Raises NotFound."""
        if delivered:
            state, next_at = RecipientState.DELIVERED, None
        elif permanent:
            state, next_at = RecipientState.FAILED, None
        else:
            state, next_at = RecipientState.PENDING, next_attempt_at

        async def _record(tx: Tx) -> None:
            result = await tx.conn.execute(
                update(QR)
                .where(QR.c.queue_id == queue_id, QR.c.address == address)
                .values(
                    state=state.value,
                    attempts=QR.c.attempts + 1,
                    next_attempt_at=next_at,
                    last_error=None if delivered else error,
                )
            )
            if not result.rowcount:
                raise NotFound(f"queued message {queue_id} has no recipient {address}")

        await self.db.write(_record)
        log.info("queue.attempt id=%d state=%s", queue_id, state.value)

    async def release(self, queue_id: QueueId, addresses: Sequence[str], now: datetime) -> None:
        """Hand back a claim: these pending recipients are due again at `now`."""

        async def _release(tx: Tx) -> None:
            await tx.conn.execute(
                update(QR)
                .where(
                    QR.c.queue_id == queue_id,
                    QR.c.address.in_(list(addresses)),
                    QR.c.state == RecipientState.PENDING.value,
                )
                .values(next_attempt_at=now)
            )

        await self.db.write(_release)
        log.info("queue.released id=%d recipients=%d", queue_id, len(addresses))

    async def purge_finished(self) -> int:
        """Delete messages with no pending recipient left (a crash came between the
        last recorded attempt and the delete); returns how many."""
        pending = exists().where(
            QR.c.queue_id == QM.c.id, QR.c.state == RecipientState.PENDING.value
        )

        async def _purge(tx: Tx) -> int:
            ids = [
                int(i) for i in (await tx.conn.execute(select(QM.c.id).where(~pending))).scalars()
            ]
            if ids:
                await tx.conn.execute(delete(QR).where(QR.c.queue_id.in_(ids)))
                await tx.conn.execute(delete(QM).where(QM.c.id.in_(ids)))
            return len(ids)

        purged = await self.db.write(_purge)
        if purged:
            log.info("queue.purged_finished count=%d", purged)
        return purged

    async def mark_delay_notified(self, queue_id: QueueId) -> None:
        """Remember that the sender got a delay DSN. Raises NotFound."""
        await self._update_message(queue_id, delay_notified=True)

    async def retry_now(self, queue_id: QueueId) -> None:
        """Make every pending recipient due immediately. Raises NotFound."""

        async def _retry(tx: Tx) -> None:
            await _load_one(tx.conn, queue_id)
            await tx.conn.execute(
                update(QR)
                .where(QR.c.queue_id == queue_id, QR.c.state == RecipientState.PENDING.value)
                .values(next_attempt_at=utcnow())
            )

        await self.db.write(_retry)

    async def delete(self, queue_id: QueueId) -> None:
        """Drop the message and its recipients (the blob stays for the Sent copy).
        Raises NotFound."""

        async def _delete(tx: Tx) -> None:
            await tx.conn.execute(delete(QR).where(QR.c.queue_id == queue_id))
            if not (await tx.conn.execute(delete(QM).where(QM.c.id == queue_id))).rowcount:
                raise NotFound(f"queued message {queue_id} does not exist")

        await self.db.write(_delete)
        log.info("queue.deleted id=%d", queue_id)

    async def _update_message(self, queue_id: QueueId, **values: object) -> None:
        async def _update(tx: Tx) -> None:
            result = await tx.conn.execute(update(QM).where(QM.c.id == queue_id).values(**values))
            if not result.rowcount:
                raise NotFound(f"queued message {queue_id} does not exist")

        await self.db.write(_update)
