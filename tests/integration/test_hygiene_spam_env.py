"""A real SMTP (MX) + IMAP server on loopback with spam scoring, antivirus attachment
blocking and quarantine switched on, for the test_hygiene_spam* modules (no tests here)."""

from __future__ import annotations

import asyncio
import dataclasses
import imaplib
import smtplib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import trustme

from tidings.config import Settings, default_settings
from tidings.context import ServerContext
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher, password_secrets
from tidings.imap.server import listeners as imap_listeners
from tidings.model.directory import Principal, PrincipalKind, Role
from tidings.model.ids import AccountId
from tidings.net.listener import Listener, ListenerConfig, as_endpoint
from tidings.smtp.server import listeners as smtp_listeners
from tidings.store import open_store
from tidings.store.services import Store

PASSWORD = "correct horse battery"
ALICE = "alice@example.test"
BOB = "bob@example.test"
ADMIN = "admin@example.test"


def spam_settings(tmp_path: Path, **spam: object) -> Settings:
    base = default_settings(tmp_path, hostname="mx.example.test")
    options: dict[str, object] = {
        "enabled": True, "junk_threshold": 5.0, "quarantine_threshold": 10.0,
        "reject_threshold": 15.0, "bayes_min_spam": 3, "bayes_min_ham": 0,
        "learn_poll_seconds": 0.05,
    }
    options.update(spam)
    return dataclasses.replace(
        base,
        spam=dataclasses.replace(base.spam, **options),  # type: ignore[arg-type]
        antivirus=dataclasses.replace(base.antivirus, blocked_attachments="reject"),
        auth=dataclasses.replace(base.auth, allow_plaintext_on_loopback=True),
    )


@dataclass
class SpamEnv:
    store: Store
    users: dict[str, Principal]
    smtp_port: int
    imap_port: int
    settings: Settings

    def send(self, raw: bytes, to: str = ALICE, sender: str = "carol@remote.example") -> None:
        """Deliver over SMTP to the MX; raises smtplib.SMTPDataError on a 5xx."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as client:
            client.sendmail(sender, [to], raw)

    def imap(self, user: str = ALICE) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        client.login(user, PASSWORD)
        return client

    async def folder(self, who: str, name: str) -> list[bytes]:
        principal = self.users[who]
        mail = self.store.mail
        box = await mail.find_mailbox(principal, AccountId(principal.id), name)
        return [await mail.read_blob(principal, m.blob_id)
                for m in await mail.messages(principal, box.id)]


async def start_spam_env(tmp_path: Path, settings: Settings | None = None
                         ) -> AsyncIterator[SpamEnv]:
    settings = settings or spam_settings(tmp_path)
    opened = await open_store(f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs",
                              durability="off")
    store = cast(Store, opened)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    await store.directory.create_domain("example.test")
    password_hash, scram = await password_secrets(hasher, PASSWORD, scram_iterations=4096)
    users = {}
    for address, role in ((ALICE, Role.USER), (BOB, Role.USER), (ADMIN, Role.GLOBAL_ADMIN)):
        users[address] = await store.directory.create_principal(
            PrincipalKind.USER, address, password_hash=password_hash, scram_sha256=scram,
            role=role)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost", "127.0.0.1").configure_cert(server_tls)
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    ctx = ServerContext(settings, store, auth, server_tls, asyncio.Event())
    handlers = {**imap_listeners(ctx), "smtp": smtp_listeners(ctx)["smtp"]}
    listeners = []
    for name in ("smtp", "imap"):
        listener = Listener(ListenerConfig(name, "127.0.0.1", 0, as_endpoint(handlers[name])))
        await listener.start()
        listeners.append(listener)
    try:
        yield SpamEnv(store, users, listeners[0].bound[0][1], listeners[1].bound[0][1],
                      settings)
    finally:
        ctx.stopping.set()
        for listener in listeners:
            await listener.drain(2.0)
        await store.close()
