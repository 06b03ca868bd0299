"""An MX listener on loopback with the [hygiene] checks on, asking a dnslib DNS server
on loopback (tests/unit/hygiene/dns_fake.py); the store and users of smtp_env."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tests.integration.smtp_env import HOSTNAME, _populate
from tests.unit.hygiene.dns_fake import DNSServer, Zone
from tidings.config import default_settings
from tidings.context import ServerContext
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.hygiene.settings import HygieneSettings
from tidings.model.directory import Principal
from tidings.model.ids import AccountId
from tidings.net.listener import Listener, ListenerConfig
from tidings.smtp.server import build_servers
from tidings.store import open_store
from tidings.store.services import Store


@dataclass
class HygieneEnv:
    store: Store
    users: dict[str, Principal]
    port: int
    zone: Zone

    async def messages(self, who: str, folder: str = "INBOX") -> list[bytes]:
        principal = self.users[who]
        mail = self.store.mail
        box = await mail.find_mailbox(principal, AccountId(principal.id), folder)
        return [await mail.read_blob(principal, m.blob_id)
                for m in await mail.messages(principal, box.id)]

    def send(self, sender: str, recipients: list[str], raw: bytes, *,
             helo: str = "client.test") -> dict[str, tuple[int, bytes]]:
        """One SMTP transaction with smtplib; raises smtplib's refusal errors."""
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=helo, timeout=20) as client:
            return client.sendmail(sender, recipients, raw)


async def hygiene_env(tmp_path: Path, zone: Zone, **hygiene: Any) -> AsyncIterator[HygieneEnv]:
    dns = await DNSServer(zone).start()
    opened = await open_store(
        f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs", durability="off"
    )
    store = cast(Store, opened)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    users = await _populate(store, hasher)
    settings = default_settings(tmp_path, hostname=HOSTNAME)
    settings = dataclasses.replace(settings, hygiene=HygieneSettings(
        resolver=("127.0.0.1", dns.port), dns_timeout_seconds=2.0, **hygiene))
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    ctx = ServerContext(settings, store, auth, ssl.create_default_context(ssl.Purpose.CLIENT_AUTH),
                        asyncio.Event())
    server = build_servers(ctx)["smtp"]
    listener = Listener(ListenerConfig("smtp", "127.0.0.1", 0, server.endpoint()))
    await listener.start()
    try:
        yield HygieneEnv(store, users, listener.bound[0][1], zone)
    finally:
        ctx.stopping.set()
        await listener.drain(2.0)
        await store.close()
        dns.close()
