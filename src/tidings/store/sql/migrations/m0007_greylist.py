"""Greylisting state: (network, sender, recipient) triplets and allow-listed networks."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

VERSION = 7

# Frozen copies of the tables as this migration creates them (see migrations/__init__).
_metadata = MetaData()
_tables = [
    Table(
        "greylist_triplets",
        _metadata,
        Column("key", String(700), primary_key=True),  # "network|sender|recipient"
        Column("first_seen", Float, nullable=False),
        Column("passed", Boolean, nullable=False),
        Column("expires", Float, nullable=False),
        Index("ix_greylist_triplets_expires", "expires"),
    ),
    Table(
        "greylist_networks",
        _metadata,
        Column("network", String(64), primary_key=True),
        Column("passes", Integer, nullable=False),
        Column("allowed_until", Float, nullable=False),
        Column("expires", Float, nullable=False),
    ),
]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(lambda c: _metadata.create_all(c, tables=_tables))
