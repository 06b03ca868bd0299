"""Blob store contract: inline and file blobs, content addressing, durability of files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.errors import NotFound
from tidings.model.ids import BlobId
from tidings.store import SQLStore
from tidings.store.blobs import FileBlobBackend, blob_id_of
from tidings.store.sql import schema


async def _rows(store: SQLStore) -> list[tuple[str, int, bool]]:
    async def _read(conn: AsyncConnection) -> list[tuple[str, int, bool]]:
        rows = await conn.execute(
            select(schema.blobs.c.id, schema.blobs.c.size, schema.blobs.c.data.is_(None))
        )
        return [(r[0], int(r[1]), bool(r[2])) for r in rows]

    return await store.db.read(_read)


def _file(store: SQLStore, blob_id: BlobId) -> Path:
    backend = store.blobs.backend
    assert isinstance(backend, FileBlobBackend)
    return backend.path(blob_id)


async def test_small_blob_is_stored_inline_and_round_trips(store: SQLStore) -> None:
    data = b"Subject: small\r\n\r\nhello\r\n"
    ref = await store.blobs.put(data)
    assert ref.id == hashlib.sha256(data).hexdigest() and ref.size == len(data)
    assert await store.blobs.get(ref.id) == data
    assert await store.blobs.exists(ref.id)
    assert await _rows(store) == [(ref.id, len(data), False)]  # data column filled
    assert not _file(store, ref.id).exists()


async def test_large_blob_is_a_file_named_by_its_hash(store: SQLStore) -> None:
    data = os.urandom(store.blobs.inline_max_bytes + 1)
    ref = await store.blobs.put(data)
    path = _file(store, ref.id)
    assert path.parts[-3:] == (ref.id[:2], ref.id[2:4], ref.id)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ref.id
    assert await _rows(store) == [(ref.id, len(data), True)]  # data column NULL
    assert await store.blobs.get(ref.id) == data
    # No temporary file is left behind next to it.
    assert [p.name for p in path.parent.iterdir()] == [ref.id]


async def test_storing_the_same_bytes_twice_keeps_one_copy(store: SQLStore) -> None:
    small, large = b"x" * 10, b"y" * (store.blobs.inline_max_bytes * 2)
    for data in (small, large, small, large):
        await store.blobs.put(data)

    async def _count(conn: AsyncConnection) -> int:
        return int(
            (await conn.execute(select(func.count()).select_from(schema.blobs))).scalar_one()
        )

    assert await store.db.read(_count) == 2
    assert await store.blobs.get(blob_id_of(large)) == large


async def test_concurrent_puts_of_one_blob_all_succeed(store: SQLStore) -> None:
    import asyncio

    data = b"z" * (store.blobs.inline_max_bytes * 3)
    refs = await asyncio.gather(*(store.blobs.put(data) for _ in range(8)))
    assert {r.id for r in refs} == {blob_id_of(data)}
    assert await store.blobs.get(refs[0].id) == data


async def test_get_unknown_or_malformed_blob_raises_not_found(store: SQLStore) -> None:
    with pytest.raises(NotFound):
        await store.blobs.get(blob_id_of(b"never stored"))
    with pytest.raises(NotFound):
        await store.blobs.get(BlobId("../../etc/passwd"))
    assert not await store.blobs.exists(blob_id_of(b"never stored"))


async def test_a_row_whose_file_vanished_raises_not_found(store: SQLStore) -> None:
    data = b"w" * (store.blobs.inline_max_bytes + 100)
    ref = await store.blobs.put(data)
    _file(store, ref.id).unlink()
    assert not await store.blobs.exists(ref.id)
    with pytest.raises(NotFound):
        await store.blobs.get(ref.id)
    # Storing it again heals the missing file.
    await store.blobs.put(data)
    assert await store.blobs.get(ref.id) == data


async def test_delete_removes_row_and_file(store: SQLStore) -> None:
    data = b"v" * (store.blobs.inline_max_bytes + 1)
    ref = await store.blobs.put(data)
    await store.blobs.delete(ref.id)
    assert not _file(store, ref.id).exists()
    with pytest.raises(NotFound):
        await store.blobs.get(ref.id)


async def test_file_writes_are_fsynced(store: SQLStore, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def _spy(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", _spy)
    await store.blobs.put(b"u" * (store.blobs.inline_max_bytes + 1))
    # The file, its new directories' parents and the final directory.
    assert len(synced) >= 2
