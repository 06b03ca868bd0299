"""The embedded backend: SQLite in WAL mode plus a local blob folder."""

from __future__ import annotations

from tidings.store.sql.store import SQLStore


class SQLiteStore(SQLStore):
    """One process, one file; the writer lock is the group-commit task."""
