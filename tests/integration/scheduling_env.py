"""A DAV server with RFC 6638 scheduling on a fresh SQLite store: three users, a room
with a booking policy, the iMIP stage and the outbound queue (nothing is sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from tidings.calendar.imip_stage import IMIPStage
from tidings.calendar.scheduling import Scheduler, build_scheduler
from tidings.dav.router import routes
from tidings.delivery.inbound import DeliveryRequest, InboundDelivery, RecipientEntry
from tidings.delivery.received import ReceivedInfo
from tidings.delivery.recipients import RecipientResolver
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher, password_secrets
from tidings.model.directory import Principal, PrincipalKind, ResourcePolicy
from tidings.store import open_store
from tidings.store.services import Store
from tidings.web.app import HTTPServer, create_app

PASSWORD = "correct horse battery"
ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
ROOM = "room-1@example.test"
EXTERNAL = "ext@remote.test"


@dataclass(frozen=True, slots=True)
class SchedulingServer:
    url: str
    store: Store
    scheduler: Scheduler
    inbound: InboundDelivery
    resolver: RecipientResolver
    users: dict[str, Principal]

    async def deliver_mail(self, sender: str, recipient: str, content: bytes) -> None:
        """Mail from outside through the inbound pipeline (with the iMIP stage)."""
        local, domain = recipient.split("@")
        resolved = await self.resolver.resolve(local, domain)
        await self.inbound.deliver(
            DeliveryRequest(
                sender, (RecipientEntry(resolved),), content,
                ReceivedInfo("mx.remote.test", "192.0.2.7", "ESMTP"),
            )
        )


@pytest.fixture
async def scheduling_server(tmp_path: Path) -> AsyncIterator[SchedulingServer]:
    opened = await open_store(
        f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs", durability="off"
    )
    store = cast(Store, opened)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    await store.directory.create_domain("example.test")
    password_hash, scram = await password_secrets(hasher, PASSWORD, scram_iterations=4096)
    users = {
        address: await store.directory.create_principal(
            PrincipalKind.USER, address, password_hash=password_hash, scram_sha256=scram
        )
        for address in (ALICE, BOB, CAROL)
    }
    room = await store.directory.create_principal(PrincipalKind.ROOM, ROOM, display_name="Room 1")
    await store.directory.set_resource_policy(
        room.id, ResourcePolicy(capacity=10, max_duration_minutes=240, booking_window_days=180)
    )
    users[ROOM] = room
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    scheduler = build_scheduler(store)
    inbound = InboundDelivery(
        mail=store.mail, queue=store.queue, blobs=store.blobs, hostname="mx.example.test",
        stages=[IMIPStage(scheduler)],
    )

    async def healthy() -> None:
        return None

    app = create_app(healthy, routes=routes(store.dav, store.directory, auth, scheduler=scheduler))
    server = HTTPServer(app, name="http", host="127.0.0.1", port=0, grace_seconds=1)
    server.start()
    host, port = server.bound
    try:
        yield SchedulingServer(
            f"http://{host}:{port}", store, scheduler, inbound,
            RecipientResolver(store.directory, store.mail), users,
        )
    finally:
        await server.stop()
        await opened.close()
