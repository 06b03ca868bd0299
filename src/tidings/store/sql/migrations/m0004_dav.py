"""Calendars and address books: `dav_collections` and `dav_objects`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql import schema

VERSION = 4

TABLES = ["dav_collections", "dav_objects"]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    tables = [schema.metadata.tables[name] for name in TABLES]
    await conn.run_sync(lambda c: schema.metadata.create_all(c, tables=tables))
