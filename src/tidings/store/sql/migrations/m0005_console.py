"""Admin console: TOTP second factors and console sessions."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql.types import IdType, UTCDateTime

VERSION = 5

# Frozen copies of the tables as this migration creates them (see migrations/__init__).
_metadata = MetaData()
_principals = Table("principals", _metadata, Column("id", IdType, primary_key=True))
_tables = [
    Table(
        "totp_secrets",
        _metadata,
        Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
        Column("secret", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_step", BigInteger, nullable=False, default=0),
    ),
    Table(
        "console_sessions",
        _metadata,
        Column("id_hash", String(64), primary_key=True),
        Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
        Column("csrf_token", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("remote_ip", String(64), nullable=True),
        Index("ix_console_sessions_principal", "principal_id"),
    ),
]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(lambda c: _metadata.create_all(c, tables=_tables))
