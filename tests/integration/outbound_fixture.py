"""The outbound test world: a SQLite store with alice@local.test, a fake DNS server
and a fake remote SMTP host on loopback, a simulated clock and the scheduler."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

from tests.integration.outbound_env import FakeDNS, FakeRemote
from tidings.config import DeliverySettings, ListenAddress, Settings, default_settings
from tidings.delivery.outbound import build_scheduler
from tidings.delivery.outbound.scheduler import OutboundScheduler
from tidings.directory.admin import DirectoryAdmin
from tidings.model.ids import AccountId
from tidings.model.queue import QueuedMessage
from tidings.store import open_store
from tidings.store.services import Store

HOSTNAME = "mail.local.test"
ALICE = "alice@local.test"


def message(subject: str = "Hello", body: str = "Hi Bob.", to: str = "bob@remote.test") -> bytes:
    return (
        f"From: Alice <{ALICE}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@local.test>\r\n\r\n{body}\r\n"
    ).encode()


class SimClock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        # A second ahead of the wall clock, so what was just enqueued is due.
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class OutboundWorld:
    store: Store
    dns: FakeDNS
    remote: FakeRemote
    clock: SimClock
    settings: Settings
    scheduler: OutboundScheduler

    def new_scheduler(self, **delivery: Any) -> OutboundScheduler:
        """A fresh scheduler (as after a restart), optionally with other [delivery] keys."""
        settings = replace(self.settings, delivery=replace(self.settings.delivery, **delivery))
        return build_scheduler(settings, self.store, clock=self.clock)

    async def enqueue(self, recipients: list[str], raw: bytes | None = None,
                      sender: str = ALICE, **options: Any) -> QueuedMessage:
        blob = await self.store.blobs.put(raw or message())
        return await self.store.queue.enqueue(sender, recipients, blob, **options)

    async def inbox(self, address: str = ALICE) -> list[Message]:
        principal = await self.store.directory.find_principal(address)
        mail = self.store.mail
        box = await mail.find_mailbox(principal, AccountId(int(principal.id)), "INBOX")
        return [
            email.message_from_bytes(await mail.read_blob(principal, m.blob_id),
                                     policy=email.policy.compat32)
            for m in await mail.messages(principal, box.id)
        ]


async def outbound_world(tmp_path: Path) -> AsyncIterator[OutboundWorld]:
    store = await open_store(f"sqlite:///{tmp_path}/t.db", tmp_path / "blobs", durability="off")
    admin = DirectoryAdmin(store.directory)
    await admin.add_domain("local.test")
    await admin.add_user(ALICE, password="correct horse battery")
    dns = await FakeDNS().start()
    dns.add("remote.test", "MX", (10, "mx.remote.test"))
    dns.add("mx.remote.test", "A", "127.0.0.1")
    remote = await FakeRemote().start()
    settings = replace(
        default_settings(tmp_path, HOSTNAME),
        delivery=DeliverySettings(
            resolver=ListenAddress("127.0.0.1", dns.port),
            mx_port=remote.port,
            connect_timeout_seconds=2.0,
            command_timeout_seconds=5.0,
            poll_interval_seconds=0.05,
        ),
    )
    clock = SimClock()
    world = OutboundWorld(store, dns, remote, clock, settings,
                          build_scheduler(settings, store, clock=clock))
    try:
        yield world
    finally:
        await remote.close()
        dns.close()
        await store.close()
