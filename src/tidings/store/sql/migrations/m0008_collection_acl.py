"""Collection sharing (`collection_acl`) and `dav_objects.modified_at`
(DAV:getlastmodified)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql.types import IdType

VERSION = 8

# Frozen copy of the table as this migration creates it (see migrations/__init__).
_metadata = MetaData()
_collections = Table("dav_collections", _metadata, Column("id", IdType, primary_key=True))
_principals = Table("principals", _metadata, Column("id", IdType, primary_key=True))
_acl = Table(
    "collection_acl",
    _metadata,
    Column("collection_id", ForeignKey("dav_collections.id", ondelete="CASCADE"), primary_key=True),
    Column("grantee_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(16), nullable=False),
    Index("ix_collection_acl_grantee", "grantee_id"),
)


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(lambda c: _metadata.create_all(c, tables=[_acl]))
    column_type = "TIMESTAMP" if dialect == "postgresql" else "DATETIME"
    await conn.execute(text(f"ALTER TABLE dav_objects ADD COLUMN modified_at {column_type}"))
