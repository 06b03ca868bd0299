"""`ConsoleStateService`: TOTP secrets, admin console sessions, dashboard figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.errors import NotFound
from tidings.model.ids import PrincipalId
from tidings.store.services import ConsoleSession, TOTPEnrolment, UsageFigures
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.types import utcnow

TS = schema.totp_secrets
CS = schema.console_sessions
RECENT_EMAILS = 50_000  # newest emails read to count recent deliveries (by primary key)


def _session_from_row(row: Row[Any]) -> ConsoleSession:
    return ConsoleSession(
        id_hash=row.id_hash,
        principal_id=PrincipalId(int(row.principal_id)),
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        expires_at=row.expires_at,
        remote_ip=row.remote_ip,
    )


class SQLConsoleState:
    """Second factors and console sessions in the shared store, so every node and
    worker sees the same logins and a logout ends the session everywhere."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def totp(self, principal_id: PrincipalId) -> TOTPEnrolment | None:
        async def _get(conn: AsyncConnection) -> TOTPEnrolment | None:
            row = (await conn.execute(select(TS).where(TS.c.principal_id == principal_id))).first()
            if row is None:
                return None
            return TOTPEnrolment(
                PrincipalId(int(row.principal_id)), row.secret, row.created_at, int(row.last_step)
            )

        return await self.db.read(_get)

    async def set_totp(self, principal_id: PrincipalId, secret: str | None) -> None:
        """Enrol (replacing any secret) or, with None, remove. Raises NotFound."""

        async def _set(tx: Tx) -> None:
            await tx.conn.execute(delete(TS).where(TS.c.principal_id == principal_id))
            if secret is None:
                return
            try:
                async with tx.conn.begin_nested():
                    await tx.conn.execute(
                        insert(TS).values(
                            principal_id=principal_id,
                            secret=secret,
                            created_at=utcnow(),
                            last_step=0,
                        )
                    )
            except IntegrityError as exc:
                raise NotFound(f"principal {principal_id} does not exist") from exc

        await self.db.write(_set)

    async def claim_totp_step(self, principal_id: PrincipalId, step: int) -> bool:
        """RFC 6238 section 5.2: a code is accepted once; the update is the check."""

        async def _claim(tx: Tx) -> bool:
            result = await tx.conn.execute(
                update(TS)
                .where(TS.c.principal_id == principal_id, TS.c.last_step < step)
                .values(last_step=step)
            )
            return bool(result.rowcount)

        return await self.db.write(_claim)

    async def create_session(self, session: ConsoleSession) -> None:
        async def _create(tx: Tx) -> None:
            await tx.conn.execute(
                delete(CS).where(CS.c.expires_at < session.created_at)
            )  # expired sessions of anyone go when someone logs in
            await tx.conn.execute(
                insert(CS).values(
                    id_hash=session.id_hash,
                    principal_id=session.principal_id,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                    remote_ip=session.remote_ip,
                )
            )

        await self.db.write(_create)

    async def find_session(self, id_hash: str, now: datetime) -> ConsoleSession:
        async def _find(conn: AsyncConnection) -> ConsoleSession:
            row = (
                await conn.execute(select(CS).where(CS.c.id_hash == id_hash, CS.c.expires_at > now))
            ).first()
            if row is None:
                raise NotFound("no such console session")
            return _session_from_row(row)

        return await self.db.read(_find)

    async def delete_session(self, id_hash: str) -> None:
        async def _delete(tx: Tx) -> None:
            await tx.conn.execute(delete(CS).where(CS.c.id_hash == id_hash))

        await self.db.write(_delete)

    async def delete_sessions(self, principal_id: PrincipalId) -> None:
        async def _delete(tx: Tx) -> None:
            await tx.conn.execute(delete(CS).where(CS.c.principal_id == principal_id))

        await self.db.write(_delete)

    async def usage(self, now: datetime, hours: int = 24) -> UsageFigures:
        """Storage in use and messages stored per hour over the last `hours` hours.

        Recent emails are found from the newest ids down, so the cost is bounded
        by RECENT_EMAILS rows whatever the mailbox sizes (received_at has no index).
        """
        current = now.replace(minute=0, second=0, microsecond=0)
        first = current - timedelta(hours=hours - 1)
        emails = schema.emails

        async def _usage(conn: AsyncConnection) -> UsageFigures:
            used = (await conn.execute(select(func.sum(schema.accounts.c.used_bytes)))).scalar()
            recent = (
                select(emails.c.received_at)
                .order_by(emails.c.id.desc())
                .limit(RECENT_EMAILS)
                .subquery()
            )
            since = select(recent.c.received_at).where(recent.c.received_at >= first)
            moments = (await conn.execute(since)).scalars()
            counts = dict.fromkeys(range(hours), 0)
            for moment in moments:
                index = int((moment - first).total_seconds() // 3600)
                if 0 <= index < hours:
                    counts[index] += 1
            buckets = tuple((first + timedelta(hours=i), counts[i]) for i in range(hours))
            return UsageFigures(int(used or 0), buckets)

        return await self.db.read(_usage)
