"""PeerBus and PeerNotifier: hints between worker processes over UNIX datagrams.

The buses here share one event loop; each has its own socket, as in separate
processes, so every hint crosses the kernel."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tidings.model.ids import AccountId, ModSeq
from tidings.store.peers import PeerBus, PeerNotifier, socket_path

ALICE, BOB = AccountId(1), AccountId(2)
SECONDS = 5.0


@pytest.fixture
async def buses(tmp_path: Path) -> AsyncIterator[list[PeerBus]]:
    run_dir = tmp_path / "run"
    started = [PeerBus(run_dir, index, 3) for index in range(3)]
    for bus in started:
        bus.start()
    try:
        yield started
    finally:
        for bus in started:
            bus.close()


async def test_a_change_in_one_worker_wakes_subscribers_in_the_others(
    buses: list[PeerBus],
) -> None:
    notifiers = [PeerNotifier(bus) for bus in buses]
    one = notifiers[1].subscribe(ALICE)
    two = notifiers[2].subscribe(ALICE)
    local = notifiers[0].subscribe(ALICE)
    notifiers[0].publish(ALICE, ModSeq(7))
    for subscription in (local, one, two):
        assert await asyncio.wait_for(anext(subscription), SECONDS) == 7
    # A peer's hint is delivered locally only, never sent on again.
    await asyncio.sleep(0.05)
    assert [bus.sent for bus in buses] == [2, 0, 0]


async def test_a_burst_is_coalesced_to_the_newest_modseq_per_account(
    buses: list[PeerBus],
) -> None:
    seen: list[tuple[AccountId, ModSeq]] = []
    arrived = asyncio.Event()

    def note(account: AccountId, modseq: ModSeq) -> None:
        seen.append((account, modseq))
        arrived.set()

    buses[1].on_changed = note
    for modseq in (3, 9, 5):
        buses[0].changed(ALICE, ModSeq(modseq))
    buses[0].changed(BOB, ModSeq(2))
    await asyncio.wait_for(arrived.wait(), SECONDS)
    await asyncio.sleep(0.05)
    assert sorted(seen) == [(ALICE, 9), (BOB, 2)]
    assert buses[1].received == 1  # one datagram for the whole burst


async def test_enqueued_reaches_every_other_worker(buses: list[PeerBus]) -> None:
    woken = [asyncio.Event() for _ in buses]
    for bus, event in zip(buses, woken, strict=True):
        bus.on_enqueued = event.set
    buses[2].enqueued()
    await asyncio.wait_for(asyncio.gather(woken[0].wait(), woken[1].wait()), SECONDS)
    assert not woken[2].is_set()


async def test_a_missing_peer_is_skipped(tmp_path: Path) -> None:
    bus = PeerBus(tmp_path, 0, 2)  # worker 1 never started
    bus.start()
    try:
        bus.changed(ALICE, ModSeq(1))
        bus.enqueued()
        await asyncio.sleep(0.05)
        assert bus.dropped == 1
    finally:
        bus.close()
    assert not socket_path(tmp_path, 0).exists()


async def test_hints_for_a_busy_peer_are_kept_and_sent_when_it_reads(tmp_path: Path) -> None:
    bus = PeerBus(tmp_path, 0, 2)
    bus.start()
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # worker 1, not reading
    busy.bind(str(socket_path(tmp_path, 1)))
    busy.setblocking(False)
    try:
        modseq = 0
        while bus.sent == modseq:  # one datagram per loop turn, until its queue is full
            modseq += 1
            bus.changed(ALICE, ModSeq(modseq))
            await asyncio.sleep(0)
            assert modseq < 10_000
        for later in range(modseq + 1, modseq + 50):
            bus.changed(ALICE, ModSeq(later))  # coalesced while waiting
            await asyncio.sleep(0)
        newest = modseq + 49
        received: list[bytes] = []
        async with asyncio.timeout(SECONDS):
            while b"c 1 %d" % newest not in received:
                try:
                    received.append(busy.recv(65536))
                except BlockingIOError:
                    await asyncio.sleep(0.005)
        assert bus.dropped == 0
    finally:
        busy.close()
        bus.close()


def test_a_socket_path_too_long_for_the_kernel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too long"):
        PeerBus(tmp_path / ("x" * 120), 0, 2)
