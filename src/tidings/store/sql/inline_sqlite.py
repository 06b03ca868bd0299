"""An aiosqlite look-alike for the writer and quick readers: statements run inline.

aiosqlite runs every call on its own thread and hops back, which costs hundreds
of microseconds per call on a loaded machine; a delivery makes about a dozen
statements, each of them several calls (cursor, execute, fetchall, close). The
single SQLite writer holds the database's write lock for its whole batch, so its
statements only touch SQLite's page cache and take microseconds: running them on
the event-loop thread is cheaper than the hop. What may wait on the disk or on
another process runs in a worker thread instead: BEGIN (it may wait for the
write lock up to busy_timeout), COMMIT (the fsync and the WAL checkpoint) and
close. Durability does not change: COMMIT is the same COMMIT, and the writer
still awaits it before it acknowledges anyone. Quick readers (`Database.read(fn,
quick=True)`) use the same driver with nothing in a thread: in WAL mode a
reader's BEGIN DEFERRED and COMMIT wait for no lock and write nothing.

Only the parts of aiosqlite's API that SQLAlchemy's aiosqlite dialect uses are
here (`sqlalchemy.dialects.sqlite.aiosqlite`, `sqlalchemy.connectors.asyncio`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# What may wait on the disk or on another process: BEGIN (the write lock) and
# COMMIT (the fsync). A reader's BEGIN DEFERRED and COMMIT wait for neither.
WRITER_THREADED = ("BEGIN", "COMMIT")


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn` in a worker thread. If the caller is cancelled meanwhile, wait for
    the thread before re-raising, so the connection is never used from two threads."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


class InlineCursor:
    """An aiosqlite-shaped cursor over a `sqlite3.Cursor`, run on the calling thread."""

    def __init__(self, owner: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        params: Sequence[Any] = () if parameters is None else parameters
        if self._owner.threaded and sql.lstrip()[:5].upper().startswith(self._owner.threaded):
            await _in_thread(self._cursor.execute, sql, params)
        else:
            self._cursor.execute(sql, params)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """An aiosqlite-shaped connection: inline statements, threaded BEGIN/COMMIT/close.

    One task uses it at a time (the group-commit writer), so the sqlite3
    connection is never used by two threads at once even though it moves
    between the loop thread and worker threads (hence check_same_thread=False).
    """

    def __init__(
        self, conn: sqlite3.Connection, threaded: tuple[str, ...] = WRITER_THREADED
    ) -> None:
        self._connection: sqlite3.Connection | None = conn
        # Prefixes of statements that run in a worker thread (empty: none do).
        self.threaded = threaded

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        # A writer's fsync (and any WAL checkpoint) happens here: keep it off the loop.
        if "COMMIT" in self.threaded:
            await _in_thread(self._conn.commit)
        else:
            self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        conn, self._connection = self._connection, None
        if conn is not None:
            await _in_thread(conn.close)

    def stop(self) -> None:
        """Forced close (SQLAlchemy's terminate): close now, on this thread."""
        conn, self._connection = self._connection, None
        if conn is not None:
            conn.close()


def inline_creator(
    database: str, *, threaded: tuple[str, ...] = WRITER_THREADED, **options: Any
) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` that opens InlineConnections
    (isolation_level None: SQLAlchemy emits BEGIN itself, so SAVEPOINTs work).
    `threaded`: statement prefixes run in a worker thread (the writer's BEGIN
    may wait for the write lock; a reader's BEGIN DEFERRED never waits for one)."""
    options = {k: v for k, v in options.items() if k not in {"check_same_thread"}}

    async def create() -> InlineConnection:
        def connect() -> sqlite3.Connection:
            conn: sqlite3.Connection = sqlite3.connect(
                database, check_same_thread=False, isolation_level=None, **options
            )
            return conn

        return InlineConnection(await asyncio.to_thread(connect), threaded)

    return create
