"""Spam scoring and quarantine: Bayesian tokens, rule weights, sender lists, the
learner's positions and held messages."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql.types import IdType, UTCDateTime

VERSION = 6

# Frozen copies of the tables as this migration creates them (see migrations/__init__).
_metadata = MetaData()
_accounts = Table("accounts", _metadata, Column("id", IdType, primary_key=True))
_tables = [
    Table(
        "spam_tokens",
        _metadata,
        Column("scope", BigInteger, primary_key=True),
        Column("token", String(160), primary_key=True),
        Column("spam", Integer, nullable=False, default=0),
        Column("ham", Integer, nullable=False, default=0),
    ),
    Table(
        "spam_totals",
        _metadata,
        Column("scope", BigInteger, primary_key=True),
        Column("spam", BigInteger, nullable=False, default=0),
        Column("ham", BigInteger, nullable=False, default=0),
    ),
    Table(
        "spam_learned",
        _metadata,
        Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        Column("blob_id", String(64), primary_key=True),
        Column("is_spam", Boolean, nullable=False),
        Column("learned_at", UTCDateTime, nullable=False),
    ),
    Table(
        "spam_rule_weights",
        _metadata,
        Column("name", String(64), primary_key=True),
        Column("weight", Float, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
    ),
    Table(
        "spam_senders",
        _metadata,
        Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        Column("pattern", String(320), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    ),
    Table(
        "spam_learner",
        _metadata,
        Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        Column("modseq", BigInteger, nullable=False),
    ),
    Table(
        "quarantine",
        _metadata,
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sender", String(320), nullable=False),
        Column("recipients", Text, nullable=False),
        Column("account_ids", Text, nullable=False),
        Column("blob_id", String(64), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("reason", String(32), nullable=False),
        Column("score", Float, nullable=True),
        Column("report", Text, nullable=False, default=""),
        Column("subject", Text, nullable=False, default=""),
        Column("from_", Text, nullable=False, default=""),
        Column("status", String(16), nullable=False),
        Column("resolved_at", UTCDateTime, nullable=True),
        Column("resolved_by", String(400), nullable=True),
        Index("ix_quarantine_status", "status", "created_at"),
        sqlite_autoincrement=True,
    ),
]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(lambda c: _metadata.create_all(c, tables=_tables))
