"""The store: the only code that touches persistence (ARCHITECTURE.md, "store/")."""

from __future__ import annotations

from pathlib import Path

from tidings.store.changes import LocalNotifier
from tidings.store.sql.database import Durability
from tidings.store.sql.process_lock import ProcessLock
from tidings.store.sql.store import SQLStore


async def open_store(
    url: str,
    blob_dir: Path | str,
    *,
    durability: Durability | str = Durability.FULL,
    group_commit: bool = True,
    max_wait_ms: float = 2.0,
    max_batch: int = 256,
    inline_max_bytes: int = 65536,
    redis_url: str | None = None,
    migrate: bool = True,
    notifier: LocalNotifier | None = None,
    process_lock: ProcessLock | None = None,
) -> SQLStore:
    """Open (and by default migrate) the store at `url`: `sqlite:///PATH` or
    `postgresql://...`. The engine-specific class is chosen from the URL."""
    if url.startswith("sqlite"):
        from tidings.store.sqlite import SQLiteStore as backend
    else:
        from tidings.store.postgres import PostgresStore as backend  # type: ignore[assignment]
    store = backend(
        url,
        Path(blob_dir),
        durability=Durability(durability),
        group_commit=group_commit,
        max_wait_ms=max_wait_ms,
        max_batch=max_batch,
        inline_max_bytes=inline_max_bytes,
        redis_url=redis_url,
        notifier=notifier,
        process_lock=process_lock,
    )
    await store.open(migrate=migrate)
    return store


__all__ = ["Durability", "SQLStore", "open_store"]
