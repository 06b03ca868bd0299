"""kill -9 during delivery loses no acknowledged message (ARCHITECTURE.md rule 3)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.crash.writer import USER, store_url
from tidings.model.ids import AccountId, BlobId
from tidings.model.mail import MailboxRole
from tidings.store import open_store
from tidings.store.check import check_store

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 5


def _run_and_kill(data_dir: Path, rng: random.Random, log: Path) -> list[tuple[int, str]]:
    """Start the writer, let it deliver for a random while, SIGKILL it; return its acks."""
    with log.open("ab") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.writer", str(data_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    lines: list[str] = []
    started = threading.Event()

    def _read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode()
            if not line.endswith("\n"):
                break  # cut off by the kill: not an acknowledgement
            if line == "ready\n":
                started.set()
            else:
                lines.append(line)
        started.set()

    reader = threading.Thread(target=_read, daemon=True)
    reader.start()
    try:
        assert started.wait(30), "the writer did not start"
        deadline = time.monotonic() + 10
        while not lines and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # at least one delivery per round
        time.sleep(rng.uniform(0.05, 0.8))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(10)
    assert proc.returncode == -signal.SIGKILL, log.read_text()
    return [(int(email_id), blob_id) for email_id, blob_id in (ln.split() for ln in lines)]


async def _verify(data_dir: Path, acked: list[tuple[int, str]]) -> None:
    store = await open_store(store_url(data_dir), data_dir / "blobs")
    try:

        async def _integrity(conn: AsyncConnection) -> list[str]:
            return [row[0] for row in await conn.execute(text("PRAGMA integrity_check"))]

        assert await store.db.read(_integrity) == ["ok"]
        user = await store.directory.find_principal(USER)
        inbox = await store.mail.mailbox_by_role(user, AccountId(user.id), MailboxRole.INBOX)
        present = {
            int(m.email_id): str(m.blob_id) for m in await store.mail.messages(user, inbox.id)
        }
        missing = [a for a in acked if a[0] not in present]
        assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:3]}"
        for email_id, blob_id in acked:
            assert present[email_id] == blob_id
            data = await store.mail.read_blob(user, BlobId(blob_id))
            assert hashlib.sha256(data).hexdigest() == blob_id
        report = await check_store(store)
        assert report.ok, "\n".join(p.describe() for p in report.errors)
    finally:
        await store.close()


@pytest.mark.crash
def test_kill9_during_delivery_loses_no_acknowledged_message(tmp_path: Path) -> None:
    rng = random.Random()
    acked: list[tuple[int, str]] = []
    for _ in range(ROUNDS):
        acked.extend(_run_and_kill(tmp_path, rng, tmp_path / "writer.log"))
    assert len(acked) >= ROUNDS
    assert len({email_id for email_id, _ in acked}) == len(acked)
    asyncio.run(_verify(tmp_path, acked))
