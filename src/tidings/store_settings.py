"""Opening the store a config describes: shared by `tidings serve` and the CLI."""

from __future__ import annotations

from tidings.config import Settings
from tidings.store import SQLStore, open_store
from tidings.store.peers import PeerBus, PeerNotifier
from tidings.store.sql.process_lock import sqlite_write_lock


async def open_configured_store(
    settings: Settings, *, peers: PeerBus | None = None, migrate: bool = True
) -> SQLStore:
    """The store of `[database]`, `[blobs]` and `[redis]`, migrated and ready.

    `peers`: this worker's channel to the other workers of `serve --workers`; without
    Redis the change notifications travel over it. With several workers on a SQLite
    file, writers take turns through a lock file beside the database.
    """
    db = settings.database
    return await open_store(
        url=db.url,
        blob_dir=settings.blobs.path,
        durability=db.durability.value,
        group_commit=db.group_commit,
        max_wait_ms=db.group_commit_max_wait_ms,
        max_batch=db.group_commit_max_batch,
        inline_max_bytes=settings.blobs.inline_max_bytes,
        redis_url=settings.redis.url,
        migrate=migrate,
        notifier=PeerNotifier(peers) if peers is not None else None,
        process_lock=sqlite_write_lock(db.url) if settings.server.workers > 1 else None,
    )
