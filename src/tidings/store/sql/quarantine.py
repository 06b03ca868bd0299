"""`QuarantineService` on SQLite and PostgreSQL: held messages (a blob reference and
why it was held) until an admin releases or deletes them."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.errors import Conflict, NotFound
from tidings.model.ids import AccountId, BlobId
from tidings.store.services import BlobRef, NewQuarantined, QuarantineEntry
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

Q = schema.quarantine
STATUSES = ("held", "released", "deleted")


def _entry(row: Row[Any]) -> QuarantineEntry:
    held = NewQuarantined(
        sender=row.sender,
        recipients=tuple(json.loads(row.recipients)),
        account_ids=tuple(AccountId(int(a)) for a in json.loads(row.account_ids)),
        blob=BlobRef(BlobId(row.blob_id), int(row.size)),
        reason=row.reason,
        score=float(row.score) if row.score is not None else None,
        report=row.report,
        subject=row.subject,
        from_=row.from_,
    )
    return QuarantineEntry(int(row.id), row.created_at, held, row.status, row.resolved_at,
                           row.resolved_by)


class SQLQuarantine:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def hold(self, new: NewQuarantined) -> QuarantineEntry:
        now = utcnow()

        async def run(tx: Tx) -> int:
            result = await tx.conn.execute(Q.insert().values(
                created_at=now, sender=new.sender, recipients=json.dumps(list(new.recipients)),
                account_ids=json.dumps([int(a) for a in new.account_ids]),
                blob_id=new.blob.id, size=new.blob.size, reason=new.reason, score=new.score,
                report=new.report, subject=new.subject[:2000], from_=new.from_[:2000],
                status="held",
            ))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

        entry_id = await self.db.write(run)
        return QuarantineEntry(entry_id, now, new, "held")

    async def get(self, entry_id: int) -> QuarantineEntry:
        async def run(conn: AsyncConnection) -> Row[Any] | None:
            return (await conn.execute(select(Q).where(Q.c.id == entry_id))).first()

        row = await self.db.read(run)
        if row is None:
            raise NotFound(f"no quarantined message {entry_id}")
        return _entry(row)

    async def list(
        self, *, status: str | None = "held", account: AccountId | None = None,
        offset: int = 0, limit: int = 100,
    ) -> Sequence[QuarantineEntry]:
        async def run(conn: AsyncConnection) -> list[QuarantineEntry]:
            query = select(Q).order_by(Q.c.id.desc())
            if status is not None:
                query = query.where(Q.c.status == status)
            if account is None:
                rows = await conn.execute(query.offset(offset).limit(limit))
                return [_entry(row) for row in rows]
            # Few rows are held at a time: filter the JSON list here, portably.
            entries = [_entry(row) for row in await conn.execute(query)]
            mine = [e for e in entries if account in e.held.account_ids]
            return mine[offset : offset + limit]

        return await self.db.read(run)

    async def resolve(
        self, entry_id: int, status: str, by: str, *, expect: str = "held"
    ) -> QuarantineEntry:
        if status not in STATUSES:
            raise ValueError(f"unknown quarantine status {status}")
        now = utcnow()

        async def run(tx: Tx) -> int:
            result = await tx.conn.execute(
                update(Q).where(Q.c.id == entry_id, Q.c.status == expect)
                .values(status=status, resolved_at=None if status == "held" else now,
                        resolved_by=None if status == "held" else by[:400])
            )
            return int(result.rowcount or 0)

        if not await self.db.write(run):
            current = await self.get(entry_id)  # raises NotFound
            raise Conflict(f"quarantined message {entry_id} is {current.status}, not {expect}")
        return await self.get(entry_id)
