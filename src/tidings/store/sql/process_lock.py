"""An async mutex shared by the processes of one server: flock(2) on a lock file.

With `serve --workers N` every worker has its own group-commit writer on the same
SQLite file. SQLite lets one of them in and makes the others poll (busy_timeout
sleeps of 1 to 100 ms); holding this lock around each write transaction hands the
file from one writer to the next as soon as it is free instead. The kernel drops
a lock when its process dies, so a killed worker never leaves the file locked.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import weakref
from pathlib import Path
from types import TracebackType


class ProcessLock:
    """`async with lock:` holds an exclusive flock on `path` (created if missing).

    Inside one process the holders queue on an asyncio.Lock first: flock owns a lock
    per open file, so it does not exclude two tasks sharing our descriptor. An
    uncontended lock is taken inline; a contended one waits in a worker thread, so
    the event loop never blocks. Cancelling a waiter is safe: if its thread gets the
    lock afterwards, the thread gives it straight back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = asyncio.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._closer: weakref.finalize[[int], ProcessLock] | None = None
        self.contended = 0  # acquisitions that had to wait for another process

    async def __aenter__(self) -> ProcessLock:
        await self._local.acquire()
        try:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return self
        except BlockingIOError:
            pass
        except BaseException:
            self._local.release()
            raise
        self.contended += 1
        waiter = _BlockingWaiter(fd)
        work = asyncio.ensure_future(asyncio.to_thread(waiter.wait))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            waiter.abandon()
            # The thread may still take the lock through our descriptor, where it
            # would count as another task's: keep this process's others out until
            # the thread has given it back.
            work.add_done_callback(self._release_local_after)
            raise
        except BaseException:
            self._local.release()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._local.release()

    def close(self) -> None:
        """Close the lock file (releasing the lock if held); the next use reopens it.
        Dropping the last reference to the lock does the same."""
        if self._closer is not None:
            self._closer()
        self._fd = self._closer = None

    def _descriptor(self) -> int:
        # A descriptor inherited through fork shares its lock with the parent, so a
        # child opens its own.
        if self._fd is None or self._pid != os.getpid():
            self.close()  # in a child: only its copy of the parent's descriptor
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
            # The Database that holds the lock has no hook for it at close.
            self._closer = weakref.finalize(self, os.close, self._fd)
        return self._fd

    def _release_local_after(self, work: asyncio.Future[None]) -> None:
        if not work.cancelled():
            work.exception()  # retrieved: the waiter that wanted it is gone
        self._local.release()


class _BlockingWaiter:
    """A blocking flock in a thread that its caller may stop waiting for.

    Whichever comes second, the thread getting the lock or the caller abandoning
    it, unlocks: the guard makes the two checks atomic.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._guard = threading.Lock()
        self._abandoned = False
        self._acquired = False

    def wait(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        with self._guard:
            if self._abandoned:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            else:
                self._acquired = True

    def abandon(self) -> None:
        with self._guard:
            self._abandoned = True
            if self._acquired:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def sqlite_write_lock(url: str) -> ProcessLock | None:
    """The write lock beside a SQLite database file (`<db>.write-lock`); None for
    PostgreSQL and in-memory SQLite, where there is no file to share."""
    if not url.startswith("sqlite"):
        return None
    database = url.partition(":///")[2].partition("?")[0]
    if database in ("", ":memory:") or "mode=memory" in url:
        return None
    return ProcessLock(Path(database + ".write-lock"))
