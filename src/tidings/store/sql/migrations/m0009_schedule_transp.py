"""`dav_collections.transparent`: RFC 6638 §9.1 schedule-calendar-transp (a transparent
calendar does not count for its owner's free/busy)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

VERSION = 9


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.execute(
        text("ALTER TABLE dav_collections ADD COLUMN transparent BOOLEAN NOT NULL DEFAULT FALSE")
    )
