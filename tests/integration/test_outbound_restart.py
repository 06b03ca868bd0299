"""Restart safety of the outbound queue: a delivery cut off mid-transaction (task
cancelled, or the process killed with SIGKILL) is retried after the restart; the
message arrives once or twice (at-least-once), never zero times."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.outbound_fixture import OutboundWorld, outbound_world
from tidings.config import DeliverySettings
from tidings.model.queue import RecipientState

# A message being delivered is leased to its node; after a crash (no chance to hand
# the lease back) it is retried once the lease has run out.
LEASE = DeliverySettings().lease_seconds + 1


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[OutboundWorld]:
    async for w in outbound_world(tmp_path):
        yield w


async def test_cancelled_delivery_is_retried_after_restart(world: OutboundWorld) -> None:
    world.remote.data_delay = 30.0  # the remote takes the data, then stalls before 250
    queued = await world.enqueue(["bob@remote.test"])
    running = asyncio.create_task(world.scheduler.run_once())
    await asyncio.wait_for(world.remote.data_started.wait(), 10)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    [recipient] = (await world.store.queue.get(queued.id)).recipients
    assert recipient.state is RecipientState.PENDING
    assert recipient.attempts == 0  # nothing recorded before the remote answered

    world.remote.data_delay = 0.0
    # The cancelled delivery handed its lease back: due at once, not after the lease.
    report = await world.new_scheduler().run_once()  # "after the restart"
    assert report.delivered == 1
    assert 1 <= len(world.remote.messages) <= 2
    assert await world.store.queue.list() == []


async def test_stopping_the_background_loop_mid_delivery_loses_nothing(
    world: OutboundWorld,
) -> None:
    world.remote.data_delay = 30.0
    await world.enqueue(["bob@remote.test"])
    stop = asyncio.Event()
    loop_task = asyncio.create_task(world.scheduler.run(stop))
    await asyncio.wait_for(world.remote.data_started.wait(), 10)
    stop.set()
    await asyncio.wait_for(loop_task, 10)  # returns promptly, cancelling the delivery
    assert len(await world.store.queue.list()) == 1

    world.remote.data_delay = 0.0
    world.remote.data_started.clear()
    stop = asyncio.Event()
    loop_task = asyncio.create_task(world.new_scheduler().run(stop))
    try:
        for _ in range(200):
            if not await world.store.queue.list():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(loop_task, 10)
    assert await world.store.queue.list() == []
    assert 1 <= len(world.remote.messages) <= 2


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from tidings.config import load_settings
    from tidings.delivery.outbound import build_scheduler
    from tidings.store import open_store

    async def main() -> None:
        settings = load_settings(Path(sys.argv[1]))
        store = await open_store(settings.database.url, settings.blobs.path)
        await build_scheduler(settings, store).run(asyncio.Event())

    asyncio.run(main())
    """
)


@pytest.mark.crash
async def test_sigkill_mid_delivery_then_restart_delivers(
    world: OutboundWorld, tmp_path: Path
) -> None:
    world.remote.data_delay = 60.0
    queued = await world.enqueue(["bob@remote.test"])
    config = tmp_path / "tidings.toml"
    config.write_text(
        f'[server]\nhostname = "mail.local.test"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/t.db"\n'
        f'[blobs]\npath = "{tmp_path}/blobs"\n'
        f'[delivery]\nresolver = "127.0.0.1:{world.dns.port}"\nmx_port = {world.remote.port}\n'
        f"poll_interval_seconds = 0.05\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(world.remote.data_started.wait(), 30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    [recipient] = (await world.store.queue.get(queued.id)).recipients
    assert (recipient.state, recipient.attempts) == (RecipientState.PENDING, 0)

    world.remote.data_delay = 0.0
    world.clock.advance(seconds=LEASE + 5)  # the child leased it on the wall clock
    report = await world.new_scheduler().run_once()
    assert report.delivered == 1
    assert len(world.remote.messages) == 2  # the remote kept the first copy: at-least-once
    assert await world.store.queue.list() == []
