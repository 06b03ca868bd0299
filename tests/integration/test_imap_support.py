"""Shared set-up for the IMAP integration tests: a real server on loopback over a real
SQLite store, with TLS from trustme (imported by the other test_imap_* modules)."""

from __future__ import annotations

import asyncio
import dataclasses
import imaplib
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import pytest
import trustme

from tidings.config import default_settings
from tidings.context import ServerContext
from tidings.directory.auth import Authenticator
from tidings.directory.login_cache import LoginCache
from tidings.directory.passwords import HashParameters, PasswordHasher, password_secrets
from tidings.imap.server import listeners
from tidings.mime.index import parse_headers_for_store
from tidings.model.directory import Principal, PrincipalKind
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.net.listener import Listener, ListenerConfig, as_endpoint
from tidings.smtp.server import listeners as smtp_listeners
from tidings.store import open_store
from tidings.store.services import Store

T = TypeVar("T")
PASSWORD = "correct horse battery"
ALICE = "alice@example.test"
BOB = "bob@example.test"
SHARED_BOX = "support@example.test"


def message(subject: str, body: str = "Hello\r\n", *, sender: str = "carol@example.test",
            extra: str = "") -> bytes:
    return (f"From: Carol <{sender}>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash(subject))}@example.test>\r\n{extra}\r\n{body}").encode()


@dataclass
class IMAPEnv:
    store: Store
    users: dict[str, Principal]
    imap_port: int
    imaps_port: int
    smtp_port: int
    client_tls: ssl.SSLContext
    ca_pem: Path
    tmp: Path

    async def deliver(self, raw: bytes, to: str = ALICE, mailbox: MailboxRole | str =
                      MailboxRole.INBOX) -> None:
        blob = await self.store.blobs.put(raw)
        headers = parse_headers_for_store(raw)
        account = AccountId(self.users[to].id)
        await self.store.mail.deliver([(account, mailbox)], blob, headers)

    def connect(self, user: str = ALICE, *, implicit: bool = False) -> imaplib.IMAP4:
        """A logged-in imaplib client (STARTTLS, or implicit TLS)."""
        client: imaplib.IMAP4
        if implicit:
            client = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port,
                                       ssl_context=self.client_tls, timeout=10)
        else:
            client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
            client.starttls(self.client_tls)
        client.login(user, PASSWORD)
        return client


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def start_env(tmp_path: Path, ca: trustme.CA, *, plaintext_on_loopback: bool = False,
                    idle_seconds: float | None = None) -> AsyncIterator[IMAPEnv]:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # imaplib2 (offlineimap) insists on a commonName as well as the SANs.
    ca.issue_cert("localhost", "127.0.0.1", common_name="localhost").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    opened_store = await open_store(f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs",
                                    durability="off")
    store = cast(Store, opened_store)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    await store.directory.create_domain("example.test")
    password_hash, scram = await password_secrets(hasher, PASSWORD, scram_iterations=4096)
    users = {}
    for address, kind in ((ALICE, PrincipalKind.USER), (BOB, PrincipalKind.USER),
                          (SHARED_BOX, PrincipalKind.SHARED)):
        users[address] = await store.directory.create_principal(
            kind, address, password_hash=password_hash, scram_sha256=scram)
    settings = default_settings(tmp_path)
    settings = dataclasses.replace(settings, auth=dataclasses.replace(
        settings.auth, allow_plaintext_on_loopback=plaintext_on_loopback))
    if idle_seconds is not None:
        limits = settings.limits
        settings = dataclasses.replace(settings, limits=dataclasses.replace(
            limits, idle_timeout_seconds=dataclasses.replace(limits.idle_timeout_seconds,
                                                             imap=idle_seconds)))
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096,
                         logins=LoginCache())
    ctx = ServerContext(settings, store, auth, server_tls, asyncio.Event())
    handlers = listeners(ctx)
    # SMTP too, so tests can watch IMAP react to a real delivery.
    handlers = {**handlers, "smtp": smtp_listeners(ctx)["smtp"]}
    opened = []
    for name, tls in (("imap", None), ("imaps", server_tls), ("smtp", None)):
        listener = Listener(ListenerConfig(name, "127.0.0.1", 0, as_endpoint(handlers[name]),
                                           ssl=tls))
        await listener.start()
        opened.append(listener)
    env = IMAPEnv(store, users, opened[0].bound[0][1], opened[1].bound[0][1],
                  opened[2].bound[0][1], client_tls, ca_pem, tmp_path)
    try:
        yield env
    finally:
        ctx.stopping.set()
        for listener in opened:
            await listener.drain(2.0)
        await store.close()


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking client while the server keeps serving on this loop."""
    return await asyncio.to_thread(fn)


class RawClient:
    """A minimal IMAP client over asyncio for exact wire checks (literal-aware)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = b""
        self._tag = 0

    @classmethod
    async def open(cls, env: IMAPEnv, user: str | None = ALICE) -> RawClient:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", env.imaps_port, ssl=env.client_tls, server_hostname="localhost")
        client = cls(reader, writer)
        client.greeting = await client.read_response_line()
        if user is not None:
            await client.ok(f"LOGIN {user} \"{PASSWORD}\"")
        return client

    async def read_response_line(self) -> bytes:
        """One response line, with any literals it carries inlined."""
        line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), 10)
        while True:
            match = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if match is None:
                return line
            line += await asyncio.wait_for(self.reader.readexactly(int(match.group(1))), 10)
            line += await asyncio.wait_for(self.reader.readuntil(b"\r\n"), 10)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def next_tag(self) -> str:
        self._tag += 1
        return f"t{self._tag}"

    async def command(self, text: str | bytes) -> list[bytes]:
        """Send a tagged command; every response line up to and including the tagged one."""
        tag = self.next_tag()
        data = text.encode() if isinstance(text, str) else text
        await self.send(tag.encode() + b" " + data + b"\r\n")
        return await self.until_tagged(tag)

    async def until_tagged(self, tag: str) -> list[bytes]:
        lines = []
        while True:
            line = await self.read_response_line()
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    async def ok(self, text: str | bytes) -> list[bytes]:
        lines = await self.command(text)
        assert b" OK " in lines[-1], lines
        return lines

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


def joined(lines: list[bytes]) -> bytes:
    return b"".join(lines)
