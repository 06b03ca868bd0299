"""ProcessLock: mutual exclusion between processes (and tasks), release when the
holder is killed with SIGKILL, and a cancelled waiter that leaves nothing locked."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from tidings.store.sql.process_lock import ProcessLock, sqlite_write_lock

ROUNDS = 40
SECONDS = 10.0

# spawn, not fork: the child must not inherit pytest's event loop or threads.
spawn = multiprocessing.get_context("spawn")


def _enter(folder: str) -> int:
    """Mark that we are inside (O_EXCL: raises if someone else is) and read the counter."""
    os.close(os.open(Path(folder, "inside"), os.O_CREAT | os.O_EXCL))
    return int(Path(folder, "counter").read_text() or "0")


def _leave(folder: str, value: int) -> None:
    Path(folder, "counter").write_text(str(value))
    os.unlink(Path(folder, "inside"))


def _contend(folder: str, tasks: int) -> None:
    """Increment a counter file ROUNDS times per task under the lock; a marker file
    created with O_EXCL proves nobody else is inside at the same time."""

    async def one() -> None:
        lock = shared[0]
        for _ in range(ROUNDS):
            async with lock:
                value = _enter(folder)
                await asyncio.sleep(0.0005)  # let the others try
                _leave(folder, value + 1)

    async def main() -> None:
        shared.append(ProcessLock(Path(folder, "db.write-lock")))
        await asyncio.gather(*(one() for _ in range(tasks)))

    shared: list[ProcessLock] = []
    asyncio.run(main())


def _hold(path: str, held: Event) -> None:
    async def main() -> None:
        async with ProcessLock(Path(path)):
            held.set()
            await asyncio.sleep(3600)

    asyncio.run(main())


def test_processes_and_tasks_take_turns(tmp_path: Path) -> None:
    (tmp_path / "counter").write_text("0")
    workers = [spawn.Process(target=_contend, args=(str(tmp_path), 2)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert int((tmp_path / "counter").read_text()) == 3 * 2 * ROUNDS


async def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "db.write-lock"
    held = spawn.Event()
    holder = spawn.Process(target=_hold, args=(str(path), held))
    holder.start()
    try:
        assert await asyncio.to_thread(held.wait, SECONDS)
        lock = ProcessLock(path)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await lock.__aenter__()  # waits in a thread, then is cancelled
        assert lock.contended == 1
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        await asyncio.to_thread(holder.join, SECONDS)
        async with asyncio.timeout(SECONDS):
            async with lock:  # the cancelled waiter's thread gave its lock back
                pass
        other = ProcessLock(path)  # a second descriptor: a separate flock owner
        async with asyncio.timeout(SECONDS):
            async with other:
                pass
    finally:
        holder.kill()
        holder.join(SECONDS)


def test_only_sqlite_files_get_a_lock(tmp_path: Path) -> None:
    lock = sqlite_write_lock(f"sqlite:///{tmp_path}/tidings.db")
    assert lock is not None
    assert lock.path == tmp_path / "tidings.db.write-lock"
    assert sqlite_write_lock("sqlite:///:memory:") is None
    assert sqlite_write_lock("postgresql://u@h/db") is None
