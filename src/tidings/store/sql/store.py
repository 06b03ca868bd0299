"""The SQL store: one implementation of every service, for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

from tidings.store.blobs import SQLBlobStore
from tidings.store.changes import LocalNotifier, RedisNotifier
from tidings.store.sql.audit import SQLAdminAccess, SQLAuditLog
from tidings.store.sql.calendars import SQLDAVService
from tidings.store.sql.console import SQLConsoleState
from tidings.store.sql.database import Database, Durability
from tidings.store.sql.directory import SQLDirectoryService
from tidings.store.sql.greylist import SQLGreylist
from tidings.store.sql.mail import SQLMailService
from tidings.store.sql.migrations import migrate as run_migrations
from tidings.store.sql.process_lock import ProcessLock
from tidings.store.sql.quarantine import SQLQuarantine
from tidings.store.sql.queue import SQLQueueService
from tidings.store.sql.spam import SQLSpamData

log = logging.getLogger(__name__)


class SQLStore:
    """Opened by `tidings.store.open_store`; backends differ only in small hooks."""

    def __init__(
        self,
        url: str,
        blob_dir: Path,
        *,
        durability: Durability = Durability.FULL,
        group_commit: bool = True,
        max_wait_ms: float = 2.0,
        max_batch: int = 256,
        inline_max_bytes: int = 65536,
        redis_url: str | None = None,
        notifier: LocalNotifier | None = None,
        process_lock: ProcessLock | None = None,
    ) -> None:
        self.db = Database(
            url,
            durability=durability,
            group_commit=group_commit,
            max_wait_ms=max_wait_ms,
            max_batch=max_batch,
            process_lock=process_lock,
        )
        self.redis_url = redis_url
        # With Redis, every node's sessions hear about every node's commits; without
        # it, `notifier` (the workers' peer channel) or this process alone.
        self.notifier: LocalNotifier | RedisNotifier = (
            RedisNotifier(redis_url) if redis_url else notifier or LocalNotifier()
        )
        self.blobs = SQLBlobStore(
            self.db,
            blob_dir,
            inline_max_bytes=inline_max_bytes,
            fsync=durability is not Durability.OFF,
        )
        self.directory = SQLDirectoryService(self.db)
        self.mail = SQLMailService(self.db, self.blobs, self.notifier)
        self.queue = SQLQueueService(self.db)
        self.dav = SQLDAVService(self.db)
        self.audit = SQLAuditLog(self.db)
        self.admin_access = SQLAdminAccess(self.db)
        self.console_state = SQLConsoleState(self.db)
        self.spam = SQLSpamData(self.db)
        self.quarantine = SQLQuarantine(self.db)
        self.greylist = SQLGreylist(self.db)

    async def open(self, *, migrate: bool = True) -> None:
        if migrate:
            await self.migrate()
        await self.db.start()

    async def migrate(self, target: int | None = None) -> list[int]:
        async with self.db.engine.connect() as conn:
            conn.sync_connection.info["writer"] = True  # type: ignore[union-attr]
            async with conn.begin():
                applied = await run_migrations(conn, self.db.dialect, target=target)
        return applied

    async def ping(self) -> bool:
        """True when the database answers (for /healthz)."""
        from sqlalchemy import text

        async def _ping(conn: object) -> bool:
            from sqlalchemy.ext.asyncio import AsyncConnection

            assert isinstance(conn, AsyncConnection)
            return (await conn.execute(text("SELECT 1"))).scalar() == 1

        return await self.db.read(_ping)

    async def close(self) -> None:
        await self.notifier.close()
        await self.db.close()
