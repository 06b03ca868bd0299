"""Versioned schema migrations, applied in order at start-up.

Each module `mNNNN_name.py` has `VERSION` and `async def upgrade(conn, dialect)`.
A migration is never edited once released: when a later migration alters a
table that an earlier one created from `schema.metadata`, freeze the earlier
migration's table definitions in its own module first.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql import schema
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

Upgrade = Callable[[AsyncConnection, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    upgrade: Upgrade


def all_migrations() -> list[Migration]:
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("m"):
            continue
        module: ModuleType = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(module.VERSION), info.name, module.upgrade))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    assert versions == list(range(1, len(found) + 1)), f"migration numbers have gaps: {versions}"
    return found


LATEST = len(all_migrations())


async def current_version(conn: AsyncConnection) -> int:
    has_table = await conn.run_sync(lambda c: inspect(c).has_table("schema_version"))
    if not has_table:
        return 0
    rows = (await conn.execute(select(schema.schema_version.c.version))).scalars().all()
    return max(rows, default=0)


async def migrate(conn: AsyncConnection, dialect: str, *, target: int | None = None) -> list[int]:
    """Apply every migration above the database's version (up to `target`)."""
    applied: list[int] = []
    version = await current_version(conn)
    if version > LATEST:
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this Tidings "
            f"({LATEST}); upgrade Tidings"
        )
    for migration in all_migrations():
        if migration.version <= version or (target is not None and migration.version > target):
            continue
        log.info("store.migrate version=%d name=%s", migration.version, migration.name)
        await migration.upgrade(conn, dialect)
        await conn.execute(
            schema.schema_version.insert().values(version=migration.version, applied_at=utcnow())
        )
        applied.append(migration.version)
    return applied
