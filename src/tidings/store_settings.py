"""Opening the store a config describes: shared by `tidings serve` and the CLI."""

from __future__ import annotations

from tidings.config import Settings
from tidings.store import SQLStore, open_store


async def open_configured_store(settings: Settings) -> SQLStore:
    """The store of `[database]`, `[blobs]` and `[redis]`, migrated and ready."""
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
    )
