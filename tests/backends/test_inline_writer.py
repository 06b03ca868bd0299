"""The SQLite group-commit writer's inline driver: statements on the loop, BEGIN and
COMMIT in a worker thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.inline_sqlite import InlineConnection
from tidings.store.sql.types import utcnow


async def _open(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'inline.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(schema.metadata.create_all)
    return db


async def _count_domains(db: Database) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(schema.domains)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _insert(tx: Tx, name: str) -> str:
    await tx.conn.execute(schema.domains.insert().values(name=name, created_at=utcnow()))
    return name


async def test_sqlite_file_writes_go_through_the_inline_driver(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    try:
        assert db.writer_engine is not db.engine

        async def _write(tx: Tx) -> bool:
            await _insert(tx, "a.example")
            raw = await tx.conn.get_raw_connection()
            return isinstance(raw.driver_connection, InlineConnection)

        assert await db.write(_write) is True
        # Another connection (a reader on the aiosqlite pool) sees the commit.
        assert await _count_domains(db) == 1
    finally:
        await db.close()


async def test_a_write_waiting_for_another_process_lock_does_not_block_the_loop(
    tmp_path: Path,
) -> None:
    db = await _open(tmp_path)
    try:
        holder = sqlite3.connect(
            tmp_path / "inline.db", isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")
        released = threading.Event()

        def _release_later() -> None:
            time.sleep(0.3)
            holder.execute("COMMIT")
            holder.close()
            released.set()

        threading.Thread(target=_release_later, daemon=True).start()
        ticks = 0

        async def _ticker() -> None:
            nonlocal ticks
            while not released.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(_ticker())
        assert await db.write(lambda tx: _insert(tx, "b.example")) == "b.example"
        await ticker
        assert released.is_set()
        # BEGIN IMMEDIATE waited in a worker thread, so the loop kept running.
        assert ticks >= 10
        assert await _count_domains(db) == 1
    finally:
        await db.close()


async def test_a_failed_batch_member_leaves_the_inline_connection_usable(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    try:
        await db.write(lambda tx: _insert(tx, "taken.example"))
        results = await asyncio.gather(
            db.write(lambda tx: _insert(tx, "taken.example")),
            db.write(lambda tx: _insert(tx, "c.example")),
            return_exceptions=True,
        )
        assert isinstance(results[0], Exception)
        assert results[1] == "c.example"
        assert await db.write(lambda tx: _insert(tx, "d.example")) == "d.example"
        assert await _count_domains(db) == 3
    finally:
        await db.close()


async def test_quick_reads_run_inline_and_see_every_commit(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    threads: list[str] = []

    async def _count(conn: AsyncConnection) -> int:
        threads.append(threading.current_thread().name)
        query = select(func.count()).select_from(schema.domains)
        return int((await conn.execute(query)).scalar_one())

    try:
        seen = []
        for name in ("a.test", "b.test", "c.test"):
            await db.write(lambda tx, name=name: _insert(tx, name))
            seen.append(await db.read(_count, quick=True))
        assert seen == [1, 2, 3]  # one connection kept open, a fresh snapshot per read
        # Many at once, and one that fails: each gets its answer, the next still works.
        counts = await asyncio.gather(*(db.read(_count, quick=True) for _ in range(20)))
        assert counts == [3] * 20

        async def _fails(conn: AsyncConnection) -> int:
            await conn.execute(select(func.count()).select_from(schema.domains))
            raise LookupError("boom")

        with pytest.raises(LookupError):
            await db.read(_fails, quick=True)
        assert await db.read(_count, quick=True) == 3
        assert set(threads) == {threading.main_thread().name}  # never a thread hop
    finally:
        await db.close()
