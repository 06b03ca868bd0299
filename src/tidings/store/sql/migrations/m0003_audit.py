"""Administration: the hash-chained audit log, API tokens and domain-admin scopes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql.types import IdType, UTCDateTime

VERSION = 3

# Frozen copies of the tables as this migration creates them (see migrations/__init__).
_metadata = MetaData()
_domains = Table("domains", _metadata, Column("id", IdType, primary_key=True))
_principals = Table("principals", _metadata, Column("id", IdType, primary_key=True))
_tables = [
    Table(
        "audit_log",
        _metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("at", UTCDateTime, nullable=False),
        Column("actor", String(400), nullable=False),
        Column("actor_address", String(320), nullable=True),
        Column("remote_ip", String(64), nullable=True),
        Column("action", String(64), nullable=False),
        Column("object_type", String(32), nullable=False),
        Column("object_id", String(400), nullable=False),
        Column("before", Text, nullable=True),
        Column("after", Text, nullable=True),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    ),
    Table(
        "api_tokens",
        _metadata,
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
        Column("name", String(128), nullable=False),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("role", String(32), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_used_at", UTCDateTime, nullable=True),
        Index("ix_api_tokens_principal", "principal_id"),
    ),
    Table(
        "domain_admins",
        _metadata,
        Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
        Column("domain_id", ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True),
    ),
]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(lambda c: _metadata.create_all(c, tables=_tables))
