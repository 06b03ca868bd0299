"""The engine, the dialect switches, and the group-commit writer.

Every write goes through `Database.write`: concurrent writers are gathered into
one transaction (each in its own SAVEPOINT, so one failure does not undo the
others) and share one commit and one fsync. A write returns only after that
commit, so callers may acknowledge the moment it returns. On a SQLite file the
writer has its own connection whose statements run inline on the event loop and
whose BEGIN/COMMIT run in a thread (`inline_sqlite`); reads use the aiosqlite pool,
except quick ones (`read(fn, quick=True)`: a few indexed point lookups, as on the
SMTP hot path), which run inline on a reader connection of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from tidings.model.errors import TemporaryFailure, TidingsError
from tidings.store.sql.inline_sqlite import WRITER_THREADED, inline_creator
from tidings.store.sql.process_lock import ProcessLock

log = logging.getLogger(__name__)

T = TypeVar("T")


class Durability(enum.StrEnum):
    FULL = "full"  # survives power loss: fsync on every commit
    NORMAL = "normal"  # survives a process crash; a power loss may lose the last commits
    OFF = "off"  # tests and benchmarks only


class Tx:
    """One writer's view of the shared transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction is durable (e.g. wake IDLE sessions)."""
        self._after_commit.append(callback)


WriteFn = Callable[[Tx], Awaitable[T]]


@dataclass(slots=True)
class _Pending(Generic[T]):
    fn: WriteFn[T]
    future: asyncio.Future[T]
    callbacks: list[Callable[[], None]] = field(default_factory=list)


def to_async_url(url: str) -> str:
    """Accept plain `sqlite:///x` / `postgresql://` URLs and pick the async driver."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Database:
    """One engine plus the writer task that batches commits."""

    def __init__(
        self,
        url: str,
        *,
        durability: Durability = Durability.FULL,
        group_commit: bool = True,
        max_wait_ms: float = 2.0,
        max_batch: int = 256,
        pool_size: int = 10,
        process_lock: ProcessLock | None = None,
    ) -> None:
        self.url = to_async_url(url)
        self.durability = durability
        self.group_commit = group_commit
        self.max_wait = max_wait_ms / 1000.0
        self.max_batch = max_batch
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine: AsyncEngine = self._create_engine(pool_size)
        # The writer's own engine (SQLite files only): see _create_inline_engine.
        self.writer_engine: AsyncEngine = self._create_inline_engine(WRITER_THREADED)
        # Quick reads (SQLite files only): see read().
        self.quick_engine: AsyncEngine = self._create_inline_engine(())
        self._quick_conn: AsyncConnection | None = None
        self._quick_lock = asyncio.Lock()
        self._queue: asyncio.Queue[_Pending[Any]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        # Without group commit SQLite still allows one writer at a time.
        self._solo_lock = asyncio.Lock()
        # Several server processes on one SQLite file (`serve --workers`): held around
        # each write transaction so their writers take turns without busy polling.
        self.process_lock = process_lock
        self.commits = 0
        self.writes = 0

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    def _create_engine(self, pool_size: int) -> AsyncEngine:
        if not self.is_sqlite:
            # `?schema=NAME` (ours, not libpq's) puts every table in that schema.
            url = make_url(self.url)
            connect_args: dict[str, Any] = {}
            if "schema" in url.query:
                connect_args["server_settings"] = {"search_path": str(url.query["schema"])}
                url = url.difference_update_query(["schema"])
            engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args
            )
            if self.durability is not Durability.FULL:

                @event.listens_for(engine.sync_engine, "connect")
                def _pg_connect(dbapi_conn: Any, _record: Any) -> None:
                    cursor = dbapi_conn.cursor()
                    cursor.execute("SET synchronous_commit = off")
                    cursor.close()

            return engine
        # Each aiosqlite connection owns a thread; a small pool keeps a few open, as
        # opening one (thread, file, PRAGMAs) costs more than the query it serves.
        engine = create_async_engine(
            self.url, poolclass=AsyncAdaptedQueuePool, pool_size=4, max_overflow=pool_size
        )
        self._sqlite_events(engine, set_isolation=True)
        return engine

    def _sqlite_events(self, engine: AsyncEngine, *, set_isolation: bool) -> None:
        synchronous = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}[self.durability.value]

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            if set_isolation:
                # Let SQLAlchemy, not pysqlite, emit BEGIN, so SAVEPOINTs work.
                dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front, so they never fail to upgrade.
            # Pooled connections keep `info`: the flag is one-shot, set per write.
            mode = "IMMEDIATE" if conn.info.pop("writer", False) else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

    def _create_inline_engine(self, threaded: tuple[str, ...]) -> AsyncEngine:
        """An engine whose statements run inline on the event loop (see inline_sqlite),
        on a SQLite file; elsewhere (PostgreSQL, in-memory SQLite) the shared engine.

        The writer (group commit or solo) holds the write lock for its whole batch, so
        its statements are page-cache work, cheaper than aiosqlite's per-call thread
        hop; only its BEGIN (which may wait for the lock) and COMMIT (the fsync) run
        in a thread. Quick readers never wait for a lock in WAL mode, so nothing of
        theirs needs a thread."""
        if not self.is_sqlite:
            return self.engine
        args, options = self.engine.dialect.create_connect_args(self.engine.url)
        database = str(args[0]) if args else ""
        if database in ("", ":memory:") or "mode=memory" in database:
            return self.engine
        engine = create_async_engine(
            self.url,
            async_creator=inline_creator(database, threaded=threaded, **options),
            poolclass=AsyncAdaptedQueuePool,
            # One connection each: the writer is one task, and quick readers share
            # one connection kept open (see _read_quick).
            pool_size=1,
            max_overflow=0,
        )
        self._sqlite_events(engine, set_isolation=False)
        return engine

    async def start(self) -> None:
        if self._writer is None and self.group_commit:
            self._writer = asyncio.create_task(self._write_loop(), name="tidings-group-commit")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._quick_conn is not None:
            await self._quick_conn.close()
            self._quick_conn = None
        for inline in (self.writer_engine, self.quick_engine):
            if inline is not self.engine:
                await inline.dispose()
        await self.engine.dispose()

    async def read(
        self, fn: Callable[[AsyncConnection], Awaitable[T]], *, quick: bool = False
    ) -> T:
        """Run `fn` in a read transaction (a consistent snapshot).

        `quick`: `fn` makes a few indexed lookups (microseconds each). On a SQLite
        file they then run inline on the event loop instead of hopping to
        aiosqlite's thread and back, which costs more than the lookups; a scan,
        a search or anything that reads many rows must not be quick."""
        try:
            if quick and self.quick_engine is not self.engine:
                return await self._read_quick(fn)
            async with self.engine.connect() as conn, conn.begin():
                return await fn(conn)
        except OperationalError as exc:
            log.warning("store.read_failed error=%s", exc)
            raise TemporaryFailure("the database is unavailable; try again") from exc

    async def _read_quick(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """On one connection kept open: a pool checkout, reset and checkin cost more
        than the lookups. Quick reads never yield, so the lock is free in practice."""
        async with self._quick_lock:
            conn = self._quick_conn
            if conn is None or conn.closed or conn.invalidated:
                conn = self._quick_conn = await self.quick_engine.connect()
            async with conn.begin():
                return await fn(conn)

    async def write(self, fn: WriteFn[T]) -> T:
        """Run `fn` in a write transaction; returns after the durable commit."""
        if not self.group_commit:
            return await self._write_solo(fn)
        if self._writer is None:
            await self.start()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(fn, future))
        return await future

    async def _write_solo(self, fn: WriteFn[T]) -> T:
        lock = self._solo_lock if self.is_sqlite else contextlib.nullcontext()
        between_processes = self.process_lock or contextlib.nullcontext()
        async with lock, between_processes, self.writer_engine.connect() as conn:
            conn.sync_connection.info["writer"] = True  # type: ignore[union-attr]
            tx = Tx(conn)
            try:
                async with conn.begin():
                    result = await fn(tx)
            except OperationalError as exc:
                log.warning("store.write_failed error=%s", exc)
                raise TemporaryFailure("the database could not commit; try again") from exc
        self.commits += 1
        self.writes += 1
        for callback in tx._after_commit:
            _run_callback(callback)
        return result

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[_Pending[Any]]) -> None:
        results: list[tuple[bool, Any]] = []
        between_processes = self.process_lock or contextlib.nullcontext()
        try:
            async with between_processes, self.writer_engine.connect() as conn:
                conn.sync_connection.info["writer"] = True  # type: ignore[union-attr]
                async with conn.begin():
                    for pending in batch:
                        if pending.future.cancelled():
                            results.append((False, None))
                            continue
                        tx = Tx(conn)
                        try:
                            async with conn.begin_nested():
                                value = await pending.fn(tx)
                        except Exception as exc:
                            results.append((False, exc))
                        else:
                            pending.callbacks = tx._after_commit
                            results.append((True, value))
        except Exception as exc:
            log.exception("store.group_commit_failed writers=%d", len(batch))
            failure = TemporaryFailure("the database could not commit; try again")
            failure.__cause__ = exc
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(failure)
            return
        self.commits += 1
        self.writes += len(batch)
        for pending, (ok, value) in zip(batch, results, strict=True):
            if pending.future.done():
                continue
            if ok:
                for callback in pending.callbacks:
                    _run_callback(callback)
                pending.future.set_result(value)
            elif value is not None:
                pending.future.set_exception(_as_domain_error(value))


def _as_domain_error(exc: BaseException) -> BaseException:
    if isinstance(exc, TidingsError):
        return exc
    if isinstance(exc, OperationalError):
        failure = TemporaryFailure("the database could not complete the write; try again")
        failure.__cause__ = exc
        return failure
    return exc


def _run_callback(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("store.after_commit_failed")
