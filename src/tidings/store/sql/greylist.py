"""`GreylistService` on SQLite and PostgreSQL: greylisting triplets and allow-listed
networks, with expiry times so old entries read as absent and are swept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import Insert as PGInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.services import GreylistTriplet
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx

T = schema.greylist_triplets
N = schema.greylist_networks
SWEEP_EVERY = 1000  # puts between deletions of expired rows


def _insert(conn: AsyncConnection, table: Any) -> SQLiteInsert | PGInsert:
    return sqlite_insert(table) if conn.dialect.name == "sqlite" else pg_insert(table)


class SQLGreylist:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._puts = 0

    async def get(self, key: str, now: float) -> GreylistTriplet | None:
        async def run(conn: AsyncConnection) -> GreylistTriplet | None:
            row = (await conn.execute(
                select(T.c.first_seen, T.c.passed).where(T.c.key == key, T.c.expires > now)
            )).first()
            return GreylistTriplet(float(row.first_seen), bool(row.passed)) if row else None

        return await self.db.read(run)

    async def put(self, key: str, triplet: GreylistTriplet, now: float,
                  ttl_seconds: float) -> None:
        self._puts += 1
        sweep = self._puts % SWEEP_EVERY == 0
        values = {"first_seen": triplet.first_seen, "passed": triplet.passed,
                  "expires": now + ttl_seconds}

        async def run(tx: Tx) -> None:
            stmt = _insert(tx.conn, T).values(key=key, **values)
            await tx.conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                                             set_=values))
            if sweep:
                await tx.conn.execute(delete(T).where(T.c.expires <= now))
                await tx.conn.execute(delete(N).where(N.c.expires <= now))

        await self.db.write(run)

    async def count_pass(self, network: str, now: float, ttl_seconds: float) -> int:
        expires = now + ttl_seconds

        async def run(tx: Tx) -> int:
            stmt = _insert(tx.conn, N).values(network=network, passes=1, allowed_until=0.0,
                                              expires=expires)
            await tx.conn.execute(stmt.on_conflict_do_update(
                index_elements=["network"],
                set_={"passes": N.c.passes + 1, "expires": expires},
            ))
            passes = (await tx.conn.execute(
                select(N.c.passes).where(N.c.network == network))).scalar_one()
            return int(passes)

        return await self.db.write(run)

    async def allow(self, network: str, now: float, until: float) -> None:
        async def run(tx: Tx) -> None:
            stmt = _insert(tx.conn, N).values(network=network, passes=0, allowed_until=until,
                                              expires=until)
            await tx.conn.execute(stmt.on_conflict_do_update(
                index_elements=["network"], set_={"allowed_until": until, "expires": until}))

        await self.db.write(run)

    async def allowed_until(self, network: str, now: float) -> float:
        async def run(conn: AsyncConnection) -> float:
            until = (await conn.execute(
                select(N.c.allowed_until).where(N.c.network == network, N.c.expires > now)
            )).scalar()
            return float(until) if until is not None else 0.0

        return await self.db.read(run)
