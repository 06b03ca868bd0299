"""The hash-chained audit log and admin access (API tokens, domain-admin scopes).

Each record's hash is SHA-256 over the previous record's hash followed by the
canonical JSON of the record (its id included), so changing, removing or
reordering any record breaks the chain at that point. Appends go through the
group-commit writer; on PostgreSQL a table lock keeps concurrent nodes from
forking the chain.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tidings.model.directory import Role
from tidings.model.errors import NotFound
from tidings.model.ids import PrincipalId
from tidings.store.services import APIToken, AuditEvent, AuditFilter, AuditRecord
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
AL = schema.audit_log
VERIFY_BATCH = 1000


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8 text: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, fields: dict[str, object]) -> str:
    """sha256(prev_hash + canonical JSON of the record's fields), hex."""
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def _fields(row: Row[Any] | dict[str, Any]) -> dict[str, object]:
    """What the hash covers; `before`/`after` as their stored canonical text."""
    get = row.__getitem__ if isinstance(row, dict) else row._mapping.__getitem__
    return {
        "id": int(get("id")),
        "at": get("at").isoformat(),
        "actor": get("actor"),
        "actor_address": get("actor_address"),
        "remote_ip": get("remote_ip"),
        "action": get("action"),
        "object_type": get("object_type"),
        "object_id": get("object_id"),
        "before": get("before"),
        "after": get("after"),
    }


def _record_from_row(row: Row[Any]) -> AuditRecord:
    return AuditRecord(
        id=int(row.id),
        at=row.at,
        event=AuditEvent(
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            actor_address=row.actor_address,
            remote_ip=row.remote_ip,
            before=json.loads(row.before) if row.before is not None else None,
            after=json.loads(row.after) if row.after is not None else None,
        ),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _conditions(filters: AuditFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.actor is not None:
        found.append(AL.c.actor == filters.actor)
    if filters.action is not None:
        if filters.action.endswith("."):
            found.append(AL.c.action.startswith(filters.action, autoescape=True))
        else:
            found.append(AL.c.action == filters.action)
    if filters.object_type is not None:
        found.append(AL.c.object_type == filters.object_type)
    if filters.object_id is not None:
        found.append(AL.c.object_id == filters.object_id)
    if filters.since is not None:
        found.append(AL.c.at >= filters.since)
    if filters.until is not None:
        found.append(AL.c.at < filters.until)
    return found


class SQLAuditLog:
    """`AuditLogService` for SQLite and PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(self, event: AuditEvent) -> AuditRecord:
        """Chain and store one record; returns after the durable commit."""

        async def _append(tx: Tx) -> AuditRecord:
            if not self.db.is_sqlite:
                # One chain across every node: appends take turns (SQLite has one writer).
                await tx.conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
            last = (
                await tx.conn.execute(select(AL.c.id, AL.c.hash).order_by(AL.c.id.desc()).limit(1))
            ).first()
            prev_hash = last.hash if last is not None else GENESIS_HASH
            values: dict[str, Any] = {
                "id": (int(last.id) + 1) if last is not None else 1,
                "at": utcnow(),
                "actor": event.actor,
                "actor_address": event.actor_address,
                "remote_ip": event.remote_ip,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "before": canonical_json(event.before) if event.before is not None else None,
                "after": canonical_json(event.after) if event.after is not None else None,
                "prev_hash": prev_hash,
            }
            values["hash"] = record_hash(prev_hash, _fields(values))
            await tx.conn.execute(insert(AL).values(**values))
            return AuditRecord(
                id=values["id"],
                at=values["at"],
                event=event,
                prev_hash=prev_hash,
                hash=values["hash"],
            )

        record = await self.db.write(_append)
        log.info("audit.appended id=%d action=%s actor=%s", record.id, event.action, event.actor)
        return record

    async def list(
        self, filters: AuditFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[Sequence[AuditRecord], int]:
        """Matching records, oldest first, and how many match in total."""
        where = and_(True, *_conditions(filters or AuditFilter()))

        async def _list(conn: AsyncConnection) -> tuple[Sequence[AuditRecord], int]:
            total = (await conn.execute(select(func.count()).select_from(AL).where(where))).scalar()
            rows = await conn.execute(
                select(AL).where(where).order_by(AL.c.id).offset(offset).limit(limit)
            )
            return [_record_from_row(r) for r in rows], int(total or 0)

        return await self.db.read(_list)

    async def verify(self) -> int | None:
        """Walk the chain in id order; the first record whose id, link or hash is wrong."""
        prev_hash = GENESIS_HASH
        expected_id = 1
        while True:
            start = expected_id

            async def _batch(conn: AsyncConnection, start: int = start) -> list[Row[Any]]:
                rows = await conn.execute(
                    select(AL).where(AL.c.id >= start).order_by(AL.c.id).limit(VERIFY_BATCH)
                )
                return list(rows)

            rows = await self.db.read(_batch)
            for row in rows:
                if int(row.id) != expected_id:
                    # A record was removed: the chain breaks at the first one after the gap.
                    return int(row.id)
                if row.prev_hash != prev_hash or row.hash != record_hash(prev_hash, _fields(row)):
                    return int(row.id)
                prev_hash = row.hash
                expected_id += 1
            if len(rows) < VERIFY_BATCH:
                return None


AT = schema.api_tokens
DA = schema.domain_admins


def _token_from_row(row: Row[Any]) -> APIToken:
    return APIToken(
        id=int(row.id),
        principal_id=PrincipalId(int(row.principal_id)),
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


class SQLAdminAccess:
    """`AdminAccessService`: API tokens (hashed) and domain-admin scopes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_token(
        self, principal_id: PrincipalId, name: str, role: Role, token_hash: str
    ) -> APIToken:
        """Raises NotFound (principal)."""

        async def _create(tx: Tx) -> APIToken:
            exists = await tx.conn.execute(
                select(schema.principals.c.id).where(schema.principals.c.id == principal_id)
            )
            if exists.first() is None:
                raise NotFound(f"principal {principal_id} does not exist")
            row = (
                await tx.conn.execute(
                    insert(AT)
                    .values(
                        principal_id=principal_id,
                        name=name,
                        role=role.value,
                        token_hash=token_hash,
                        created_at=utcnow(),
                    )
                    .returning(*AT.c)
                )
            ).one()
            return _token_from_row(row)

        return await self.db.write(_create)

    async def find_token(self, token_hash: str) -> APIToken:
        """Raises NotFound."""

        async def _find(conn: AsyncConnection) -> APIToken:
            row = (await conn.execute(select(AT).where(AT.c.token_hash == token_hash))).first()
            if row is None:
                raise NotFound("no such API token")
            return _token_from_row(row)

        return await self.db.read(_find)

    async def list_tokens(self, principal_id: PrincipalId | None = None) -> Sequence[APIToken]:
        query = select(AT).order_by(AT.c.id)
        if principal_id is not None:
            query = query.where(AT.c.principal_id == principal_id)

        async def _list(conn: AsyncConnection) -> list[APIToken]:
            return [_token_from_row(r) for r in await conn.execute(query)]

        return await self.db.read(_list)

    async def delete_token(self, token_id: int) -> None:
        """Raises NotFound."""

        async def _delete(tx: Tx) -> None:
            result = await tx.conn.execute(delete(AT).where(AT.c.id == token_id))
            if result.rowcount == 0:
                raise NotFound(f"API token {token_id} does not exist")

        await self.db.write(_delete)

    async def touch_token(self, token_id: int) -> None:
        async def _touch(tx: Tx) -> None:
            await tx.conn.execute(
                update(AT).where(AT.c.id == token_id).values(last_used_at=utcnow())
            )

        await self.db.write(_touch)

    async def _domain_id(self, conn: AsyncConnection, domain: str) -> int:
        row = (
            await conn.execute(select(schema.domains.c.id).where(schema.domains.c.name == domain))
        ).first()
        if row is None:
            raise NotFound(f"domain {domain} does not exist")
        return int(row.id)

    async def add_domain_admin(self, principal_id: PrincipalId, domain: str) -> None:
        """Raises NotFound (principal or domain)."""

        async def _add(tx: Tx) -> None:
            domain_id = await self._domain_id(tx.conn, domain)
            try:
                async with tx.conn.begin_nested():
                    await tx.conn.execute(
                        insert(DA).values(principal_id=principal_id, domain_id=domain_id)
                    )
            except IntegrityError as exc:
                present = await tx.conn.execute(
                    select(DA).where(DA.c.principal_id == principal_id, DA.c.domain_id == domain_id)
                )
                if present.first() is None:
                    raise NotFound(f"principal {principal_id} does not exist") from exc

        await self.db.write(_add)

    async def remove_domain_admin(self, principal_id: PrincipalId, domain: str) -> None:
        async def _remove(tx: Tx) -> None:
            domain_id = await self._domain_id(tx.conn, domain)
            await tx.conn.execute(
                delete(DA).where(DA.c.principal_id == principal_id, DA.c.domain_id == domain_id)
            )

        await self.db.write(_remove)

    async def admin_domains(self, principal_id: PrincipalId) -> Sequence[str]:
        query = (
            select(schema.domains.c.name)
            .join(DA, DA.c.domain_id == schema.domains.c.id)
            .where(DA.c.principal_id == principal_id)
            .order_by(schema.domains.c.name)
        )

        async def _list(conn: AsyncConnection) -> list[str]:
            return list((await conn.execute(query)).scalars())

        return await self.db.read(_list)
