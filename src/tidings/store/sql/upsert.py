"""Dialect switches for ON CONFLICT inserts (SQLite and PostgreSQL share the syntax)."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert


def insert_ignore(conn: AsyncConnection, table: Table) -> Insert:
    """An INSERT that silently skips rows whose key already exists (ON CONFLICT DO NOTHING)."""
    if conn.dialect.name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing()
    return pg_insert(table).on_conflict_do_nothing()


def upsert(conn: AsyncConnection, table: Table, key: str, update: list[str]) -> Insert:
    """An INSERT that, when the row with that `key` exists, updates the `update` columns
    to the values it would have inserted (ON CONFLICT (key) DO UPDATE)."""
    stmt = sqlite_insert(table) if conn.dialect.name == "sqlite" else pg_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={name: stmt.excluded[name] for name in update}
    )
