"""Server-wide limits over the peer bus: the per-sender hourly limit and the per-IP
connection count, as `serve --workers` wires them (tidings.server), with real
PeerBus sockets in one event loop (docs/decisions/0009-workers.md §6)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tidings.delivery.limits import SenderRateLimit
from tidings.net.worker_connections import WorkerConnections
from tidings.server import share_connections, share_sender_rate
from tidings.store.peers import PeerBus, socket_path

SECONDS = 5.0
PER_HOUR = 3
IP = "192.0.2.7"


HANDLERS = ("on_sender", "on_sender_window", "on_connections", "on_connections_reset")


class Arrivals:
    """Set whenever a bus hands a count to its limits: what the tests wait for."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def tap(self, bus: PeerBus) -> None:
        for name in HANDLERS:
            handler = getattr(bus, name)

            def tapped(*args: Any, handler: Callable[..., None] = handler) -> None:
                handler(*args)
                self.event.set()

            setattr(bus, name, tapped)

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(SECONDS):
            while not condition():
                self.event.clear()
                await self.event.wait()


@dataclass
class Worker:
    bus: PeerBus
    rate: SenderRateLimit
    connections: WorkerConnections


def start_worker(run_dir: Path, index: int, count: int, arrivals: Arrivals) -> Worker:
    """A worker's limits, wired as tidings.server wires them."""
    bus = PeerBus(run_dir, index, count)
    bus.start()
    rate = SenderRateLimit(PER_HOUR)
    connections = share_connections(bus)
    share_sender_rate(bus, rate)
    arrivals.tap(bus)
    bus.announce()
    return Worker(bus, rate, connections)


@pytest.fixture
def arrivals() -> Arrivals:
    return Arrivals()


@pytest.fixture
async def workers(tmp_path: Path, arrivals: Arrivals) -> AsyncIterator[list[Worker]]:
    started = [start_worker(tmp_path / "run", index, 2, arrivals) for index in range(2)]
    try:
        yield started
    finally:
        for worker in started:
            worker.bus.close()


async def test_a_message_accepted_by_one_worker_counts_in_the_other(
    workers: list[Worker], arrivals: Arrivals
) -> None:
    one, two = workers
    one.rate.record("Alice@Example.com")
    two.rate.record("alice@example.com")
    one.rate.record("alice@example.com")
    await arrivals.until(lambda: not two.rate.allows("alice@example.com"))
    await arrivals.until(lambda: not one.rate.allows("ALICE@example.com"))
    assert one.rate.allows("bob@example.com") and two.rate.allows("bob@example.com")
    assert [len(dict(w.rate.windows())["alice@example.com"]) for w in workers] == [3, 3]


async def test_connections_are_counted_across_workers_per_listener(
    workers: list[Worker], arrivals: Arrivals
) -> None:
    one, two = workers
    smtp_one, smtp_two = one.connections.for_listener("smtp"), two.connections.for_listener("smtp")
    smtp_one.opened(IP)
    smtp_one.opened(IP)
    smtp_two.opened(IP)
    await arrivals.until(lambda: smtp_two.count(IP) == 3 and smtp_one.count(IP) == 3)
    assert two.connections.for_listener("imap").count(IP) == 0
    smtp_one.closed(IP)
    smtp_two.closed(IP)
    await arrivals.until(lambda: smtp_two.count(IP) == 1 and smtp_one.count(IP) == 1)


async def test_a_restarted_worker_drops_its_predecessors_counts_and_learns_the_others(
    tmp_path: Path, workers: list[Worker], arrivals: Arrivals
) -> None:
    one, two = workers
    one.connections.for_listener("smtp").opened(IP)
    two.connections.for_listener("smtp").opened(IP)  # lost when worker 1 dies
    two.rate.record("alice@example.com")
    one.rate.record("alice@example.com")
    await arrivals.until(lambda: one.connections.for_listener("smtp").count(IP) == 2)
    await arrivals.until(lambda: len(dict(one.rate.windows()).get("alice@example.com", [])) == 2)

    two.bus.close()  # killed: no goodbye
    workers[1] = fresh = start_worker(tmp_path / "run", 1, 2, arrivals)
    smtp = fresh.connections.for_listener("smtp")
    await arrivals.until(lambda: one.connections.for_listener("smtp").count(IP) == 1)
    await arrivals.until(lambda: smtp.count(IP) == 1)
    # The messages its predecessor accepted still count, as worker 0 saw them.
    await arrivals.until(lambda: len(dict(fresh.rate.windows()).get("alice@example.com", [])) == 2)
    fresh.rate.record("alice@example.com")
    await arrivals.until(lambda: not one.rate.allows("alice@example.com"))
    assert not fresh.rate.allows("alice@example.com")


async def test_counts_for_a_busy_peer_are_delivered_exactly_once(tmp_path: Path) -> None:
    bus = PeerBus(tmp_path, 0, 2)
    bus.start()
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # worker 1, not reading yet
    busy.bind(str(socket_path(tmp_path, 1)))
    busy.setblocking(False)
    try:
        sent = 0
        while bus.sent == sent:  # one datagram per loop turn, until its queue is full
            # A key per turn so that no two turns coalesce into one line.
            bus.sender_accepted(f"s{sent}@example.com")
            sent += 1
            await asyncio.sleep(0)
            assert sent < 10_000
        for _ in range(50):
            bus.sender_accepted("late@example.com")  # coalesced while it waits
            await asyncio.sleep(0)
        expected = sent + 50
        counted = 0
        async with asyncio.timeout(SECONDS):
            while counted < expected:
                try:
                    data = busy.recv(65536)
                except BlockingIOError:
                    await asyncio.sleep(0.005)
                    continue
                counted += sum(int(line.split(b" ")[1]) for line in data.split(b"\n"))
        await asyncio.sleep(0.05)  # nothing more may follow
        with pytest.raises(BlockingIOError):
            busy.recv(65536)
        assert counted == expected
        assert bus.dropped == 0
    finally:
        busy.close()
        bus.close()


def test_a_restarted_worker_adopts_only_a_longer_window() -> None:
    now = [1000.0]
    rate = SenderRateLimit(10, clock=lambda: now[0])
    rate.record("a@example.com")
    rate.adopt("a@example.com", [5.0])  # not more than we know: kept as is
    assert dict(rate.windows())["a@example.com"] == [0.0]
    rate.adopt("a@example.com", [3600.0, 10.0, 20.0])  # the expired one does not count
    assert dict(rate.windows())["a@example.com"] == [10.0, 20.0]
    now[0] += 3585.0  # the adopted times slide out of the hour like our own
    assert dict(rate.windows())["a@example.com"] == [3595.0]
