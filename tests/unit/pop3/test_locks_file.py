"""Maildrop locks on lock files: what `serve --workers N` uses without Redis. Two
instances stand for two worker processes (flock owns a lock per open file, so they
exclude each other as processes do); tests/integration/test_workers.py checks the
same across real workers."""

from __future__ import annotations

from pathlib import Path

from tidings.model.ids import AccountId
from tidings.pop3.commands.locks_file import FileMaildropLocks
from tidings.pop3.server import maildrop_locks

ACCOUNT, OTHER = AccountId(42), AccountId(43)


async def test_a_lock_file_excludes_another_worker_until_released(tmp_path: Path) -> None:
    worker_0, worker_1 = FileMaildropLocks(tmp_path), FileMaildropLocks(tmp_path)
    assert await worker_0.acquire(ACCOUNT, "a")
    assert await worker_0.acquire(ACCOUNT, "a")  # its holder again: still its own
    assert not await worker_0.acquire(ACCOUNT, "b")
    assert not await worker_1.acquire(ACCOUNT, "c")
    assert await worker_1.acquire(OTHER, "c")  # other accounts are not affected
    await worker_1.release(ACCOUNT, "c")  # not the holder: no effect
    assert not await worker_1.acquire(ACCOUNT, "c")
    await worker_0.release(ACCOUNT, "a")
    assert await worker_1.acquire(ACCOUNT, "c")


def test_several_workers_without_redis_get_lock_files(tmp_path: Path) -> None:
    assert isinstance(maildrop_locks(None, tmp_path), FileMaildropLocks)
    assert not isinstance(maildrop_locks(None), FileMaildropLocks)
