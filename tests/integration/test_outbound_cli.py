"""`tidings queue list|show|retry|delete|flush` against a data directory."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.outbound_fixture import OutboundWorld, message, outbound_world
from tidings.cli.main import main
from tidings.model.ids import QueueId
from tidings.model.queue import QueuedMessage, RecipientState
from tidings.store import open_store


def _write_config(data: Path, extra: str = "") -> None:
    (data / "tidings.toml").write_text(
        f'[server]\nhostname = "mail.local.test"\n'
        f'[database]\nurl = "sqlite:///{data}/t.db"\ndurability = "off"\n'
        f'[blobs]\npath = "{data}/blobs"\n{extra}'
    )


async def _enqueue(data: Path, *recipients: str) -> QueuedMessage:
    store = await open_store(f"sqlite:///{data}/t.db", data / "blobs", durability="off")
    try:
        blob = await store.blobs.put(message())
        return await store.queue.enqueue("alice@local.test", list(recipients), blob)
    finally:
        await store.close()


async def _get(data: Path, queue_id: int) -> QueuedMessage:
    store = await open_store(f"sqlite:///{data}/t.db", data / "blobs", durability="off")
    try:
        return await store.queue.get(QueueId(queue_id))
    finally:
        await store.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_retry_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_config(tmp_path)
    first = asyncio.run(_enqueue(tmp_path, "bob@remote.test", "carol@remote.test"))
    second = asyncio.run(_enqueue(tmp_path, "dan@other.test"))
    data = ["--data", str(tmp_path)]

    code, out, _ = _run(capsys, "queue", "list", *data, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [first.id, second.id]
    assert rows[0]["pending"] == 2 and rows[0]["sender"] == "alice@local.test"

    code, out, _ = _run(capsys, "queue", "list", *data)
    header, *lines = out.splitlines()
    assert code == 0 and header.split()[:3] == ["ID", "SENDER", "RECIPIENTS"]
    assert len(lines) == 2 and "alice@local.test" in lines[0]

    code, out, _ = _run(capsys, "queue", "show", str(first.id), *data, "--json")
    shown = json.loads(out)
    assert [r["address"] for r in shown["recipients"]] == ["bob@remote.test", "carol@remote.test"]
    assert shown["recipients"][0]["state"] == "pending"

    code, out, _ = _run(capsys, "queue", "show", str(first.id), *data)
    assert code == 0 and "recipient: bob@remote.test state=pending" in out

    code, out, _ = _run(capsys, "queue", "retry", str(first.id), *data, "--json")
    assert code == 0 and json.loads(out) == {"retried": [first.id]}

    code, out, _ = _run(capsys, "queue", "delete", str(second.id), *data)
    assert code == 0
    code, out, _ = _run(capsys, "queue", "list", *data, "--json")
    assert [r["id"] for r in json.loads(out)] == [first.id]


def test_unknown_queue_id_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_config(tmp_path)
    asyncio.run(_enqueue(tmp_path, "bob@remote.test"))
    code, _, err = _run(capsys, "queue", "show", "999", "--data", str(tmp_path))
    assert code == 1
    assert err.startswith("tidings: error:") and "999" in err
    code, _, err = _run(capsys, "queue", "delete", "999", "--data", str(tmp_path))
    assert code == 1


def test_empty_queue_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_config(tmp_path)
    code, out, _ = _run(capsys, "queue", "list", "--data", str(tmp_path))
    assert (code, out) == (0, "the queue is empty\n")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[OutboundWorld]:
    async for w in outbound_world(tmp_path):
        yield w


async def test_flush_now_delivers_a_deferred_message(world: OutboundWorld, tmp_path: Path) -> None:
    world.remote.rcpt_reply = lambda a: (451, "4.3.0 later")
    queued = await world.enqueue(["bob@remote.test"])
    await world.scheduler.run_once()
    [recipient] = (await world.store.queue.get(queued.id)).recipients
    assert recipient.state is RecipientState.PENDING and recipient.attempts == 1

    world.remote.rcpt_reply = lambda a: (250, "2.1.5 OK")
    _write_config(
        tmp_path,
        f'[delivery]\nresolver = "127.0.0.1:{world.dns.port}"\nmx_port = {world.remote.port}\n',
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tidings.cli.main", "queue", "flush", "--now", "--json",
        "--data", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()
    assert json.loads(out) == {"flushed": 1, "delivered": 1, "deferred": 0, "failed": 0}
    assert len(world.remote.messages) == 1
    assert await world.store.queue.list() == []
