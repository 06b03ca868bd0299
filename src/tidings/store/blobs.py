"""Content-addressed blob store: small blobs inline in the database, large ones as files.

A blob's id is the hex SHA-256 of its bytes, so storing the same bytes twice is
harmless and a client's retry costs nothing. A large blob is on stable storage
(written to a temporary file, fsync'd, renamed, directory fsync'd) before its
row is committed, so a committed row never points at bytes that a crash lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from tidings.model.errors import NotFound
from tidings.model.ids import BlobId
from tidings.store.services import BlobRef, StagedBlob
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.types import utcnow
from tidings.store.sql.upsert import upsert

log = logging.getLogger(__name__)

_BLOB_ID = re.compile(r"^[0-9a-f]{64}\Z")
_UPSERTS: dict[str, Insert] = {}


def blob_id_of(data: bytes) -> BlobId:
    """The content address of `data`: lowercase hex SHA-256."""
    return BlobId(hashlib.sha256(data).hexdigest())


def is_blob_id(text: str) -> bool:
    return _BLOB_ID.fullmatch(text) is not None


class BlobBackend(Protocol):
    """Where large blobs live (a folder today; an S3 bucket can implement the same)."""

    async def write(self, blob_id: BlobId, data: bytes) -> None:
        """Store durably; returns once the bytes survive a crash (if fsync is on)."""

    async def read(self, blob_id: BlobId) -> bytes:
        """Raises FileNotFoundError."""

    async def exists(self, blob_id: BlobId) -> bool: ...

    async def delete(self, blob_id: BlobId) -> None:
        """Remove if present."""

    async def list_ids(self) -> list[BlobId]:
        """Every stored blob id (for `tidings check`'s orphan scan)."""

    async def stored_at(self, blob_id: BlobId) -> datetime | None:
        """When the blob was last written (or stored again); None if absent."""


class FileBlobBackend:
    """Blobs as files `root/ab/cd/<sha256>`, written atomically with fsync."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync

    def path(self, blob_id: BlobId) -> Path:
        return self.root / blob_id[:2] / blob_id[2:4] / blob_id

    async def write(self, blob_id: BlobId, data: bytes) -> None:
        await asyncio.to_thread(self._write_sync, blob_id, data)

    async def read(self, blob_id: BlobId) -> bytes:
        return await asyncio.to_thread(self.path(blob_id).read_bytes)

    async def exists(self, blob_id: BlobId) -> bool:
        return await asyncio.to_thread(self.path(blob_id).is_file)

    async def delete(self, blob_id: BlobId) -> None:
        await asyncio.to_thread(self.path(blob_id).unlink, missing_ok=True)

    async def list_ids(self) -> list[BlobId]:
        return await asyncio.to_thread(self._list_sync)

    async def stored_at(self, blob_id: BlobId) -> datetime | None:
        try:
            stat = await asyncio.to_thread(self.path(blob_id).stat)
        except FileNotFoundError:
            return None
        return datetime.fromtimestamp(stat.st_mtime, UTC)

    def _list_sync(self) -> list[BlobId]:
        if not self.root.is_dir():
            return []
        return sorted(
            BlobId(p.name) for p in self.root.glob("??/??/*") if p.is_file() and is_blob_id(p.name)
        )

    def _write_sync(self, blob_id: BlobId, data: bytes) -> None:
        target = self.path(blob_id)
        if target.is_file() and target.stat().st_size == len(data):
            # Content addressing: a file is renamed into place only once complete.
            # Its mtime says "last stored", which orphan collection respects.
            os.utime(target)
            return
        self._make_dirs(target.parent)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        if self.fsync:
            # The rename is durable only once the directory entry is.
            _fsync_dir(target.parent)

    def _make_dirs(self, directory: Path) -> None:
        """mkdir -p that fsyncs each parent whose entry list it changed."""
        missing: list[Path] = []
        probe = directory
        while not probe.is_dir():
            missing.append(probe)
            probe = probe.parent
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError:
                continue
            if self.fsync:
                _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class BlobRow:
    """What the `blobs` table knows about one blob."""

    id: BlobId
    size: int
    inline: bool


class SQLBlobStore:
    """`BlobStore` over the `blobs` table plus a `BlobBackend` for large blobs."""

    def __init__(
        self,
        db: Database,
        blob_dir: Path,
        *,
        inline_max_bytes: int = 65536,
        fsync: bool = True,
        backend: BlobBackend | None = None,
    ) -> None:
        self.db = db
        self.inline_max_bytes = inline_max_bytes
        self.backend: BlobBackend = backend or FileBlobBackend(Path(blob_dir), fsync=fsync)

    async def put(self, data: bytes) -> BlobRef:
        """Store bytes durably; returns after the row's commit (and the file's fsync)."""
        return await self.record(await self.stage(data))

    async def stage(self, data: bytes) -> StagedBlob:
        """A large blob's file is durable when this returns; the row is the caller's."""
        ref = BlobRef(blob_id_of(data), len(data))
        if len(data) <= self.inline_max_bytes:
            return StagedBlob(ref, data)
        await self.backend.write(ref.id, data)
        return StagedBlob(ref, None)

    async def record(self, staged: StagedBlob) -> BlobRef:
        async def _insert(tx: Tx) -> None:
            await self.write_row(tx.conn, staged)

        await self.db.write(_insert)
        return staged.ref

    @classmethod
    async def write_row(cls, conn: AsyncConnection, staged: StagedBlob) -> None:
        """The row of a staged blob, inside the caller's transaction."""
        await cls.insert_row(conn, staged.ref.id, staged.inline, staged.ref.size)
        log.debug("blob.stored id=%s size=%d inline=%s", staged.ref.id, staged.ref.size,
                  staged.inline is not None)

    @staticmethod
    async def insert_row(
        conn: AsyncConnection, blob_id: BlobId, data: bytes | None, size: int
    ) -> None:
        """The `blobs` row (a writer may call this in its own transaction). Storing it
        again refreshes `created_at`, so orphan collection, which spares young blobs,
        cannot take a blob that a delivery in flight has just stored again."""
        statement = _UPSERTS.get(conn.dialect.name)
        if statement is None:
            # Built once per dialect: building a statement costs more than running it.
            statement = _UPSERTS[conn.dialect.name] = upsert(
                conn, schema.blobs, "id", ["created_at"]
            )
        await conn.execute(
            statement, {"id": blob_id, "size": size, "data": data, "created_at": utcnow()}
        )

    async def get(self, blob_id: BlobId) -> bytes:
        """The blob's bytes. Raises NotFound."""
        if not is_blob_id(blob_id):
            raise NotFound(f"blob {blob_id!r} does not exist")

        async def _select(conn: AsyncConnection) -> tuple[bool, bytes | None]:
            row = (
                await conn.execute(select(schema.blobs.c.data).where(schema.blobs.c.id == blob_id))
            ).first()
            return (row is not None, None if row is None else row.data)

        found, data = await self.db.read(_select)
        if not found:
            raise NotFound(f"blob {blob_id} does not exist")
        if data is not None:
            return bytes(data)
        try:
            return await self.backend.read(blob_id)
        except FileNotFoundError:
            log.error("blob.file_missing id=%s", blob_id)
            raise NotFound(f"blob {blob_id} is recorded but its file is missing") from None

    async def exists(self, blob_id: BlobId) -> bool:
        row = await self.row(blob_id)
        if row is None:
            return False
        return row.inline or await self.backend.exists(blob_id)

    async def row(self, blob_id: BlobId) -> BlobRow | None:
        """The blob's row, or None."""
        if not is_blob_id(blob_id):
            return None

        async def _select(conn: AsyncConnection) -> BlobRow | None:
            row = (
                await conn.execute(
                    select(
                        schema.blobs.c.size, schema.blobs.c.data.is_not(None).label("inline")
                    ).where(schema.blobs.c.id == blob_id)
                )
            ).first()
            return None if row is None else BlobRow(blob_id, int(row.size), bool(row.inline))

        return await self.db.read(_select)

    async def delete(self, blob_id: BlobId) -> None:
        """Forget a blob: its row first, then its file (a crash in between leaves an
        orphan file, which `tidings check` reports, never a row without bytes)."""

        async def _delete(tx: Tx) -> None:
            await tx.conn.execute(delete(schema.blobs).where(schema.blobs.c.id == blob_id))

        await self.db.write(_delete)
        await self.backend.delete(blob_id)
