"""The scale-out backend: PostgreSQL through asyncpg."""

from __future__ import annotations

from tidings.store.sql.store import SQLStore


class PostgresStore(SQLStore):
    """N stateless nodes share one PostgreSQL; row locks order concurrent writers."""
