"""Calendars and address books: `dav_collections` and `dav_objects`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql.types import IdType, UTCDateTime

VERSION = 4

# Frozen copies of the tables as this migration creates them (see migrations/__init__):
# later migrations add columns to them.
_metadata = MetaData()
_accounts = Table("accounts", _metadata, Column("id", IdType, primary_key=True))
_tables = [
    Table(
        "dav_collections",
        _metadata,
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("name", String(255), nullable=False),
        Column("display_name", Text, nullable=False, default=""),
        Column("description", Text, nullable=False, default=""),
        Column("color", String(32), nullable=False, default=""),
        Column("timezone", Text, nullable=False, default=""),
        Column("components", String(64), nullable=False, default=""),
        Column("modseq", BigInteger, nullable=False),
        UniqueConstraint("account_id", "kind", "name", name="uq_dav_collections_name"),
        sqlite_autoincrement=True,
    ),
    Table(
        "dav_objects",
        _metadata,
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column(
            "collection_id", ForeignKey("dav_collections.id", ondelete="CASCADE"), nullable=False
        ),
        Column("name", String(255), nullable=False),
        Column("uid", Text, nullable=False),
        Column("etag", String(64), nullable=False),
        Column("component", String(16), nullable=False),
        Column("data", Text, nullable=False),
        Column("first_start", UTCDateTime, nullable=True),
        Column("last_end", UTCDateTime, nullable=True),
        Column("modseq", BigInteger, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        UniqueConstraint("collection_id", "name", name="uq_dav_objects_name"),
        Index("ix_dav_objects_uid", "collection_id", "uid"),
        Index("ix_dav_objects_range", "collection_id", "first_start", "last_end"),
        sqlite_autoincrement=True,
    ),
]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(lambda c: _metadata.create_all(c, tables=_tables))
