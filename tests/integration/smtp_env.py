"""A real SMTP server on loopback (smtp, submission, submissions) over a real SQLite
store, with a small directory: users, an alias, a group, a shared mailbox, a quota."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import os
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import trustme

from tidings.config import SMTPSettings, default_settings
from tidings.context import EnqueueSignal, ServerContext
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher, password_secrets
from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.ids import AccountId
from tidings.net.listener import Listener, ListenerConfig
from tidings.smtp.server import build_servers
from tidings.store import open_store
from tidings.store.services import Store

PASSWORD = "correct horse battery"
HOSTNAME = "mx.example.test"
MAX_MESSAGE_BYTES = 200_000


@dataclass
class SMTPEnv:
    store: Store
    users: dict[str, Principal]
    ports: dict[str, int]
    client_tls: ssl.SSLContext
    ca_pem: Path
    stopping: asyncio.Event
    enqueued: EnqueueSignal = dataclasses.field(default_factory=EnqueueSignal)

    async def messages(self, who: str, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes of every message in a folder, oldest first."""
        principal = self.users[who]
        mail = self.store.mail
        account = AccountId(principal.id)
        box = await mail.find_mailbox(principal, account, folder)
        return [await mail.read_blob(principal, m.blob_id) for m in await mail.messages(
            principal, box.id)]


async def _make_user(
    store: Store, hasher: PasswordHasher, kind: PrincipalKind, address: str
) -> Principal:
    password_hash, scram = await password_secrets(hasher, PASSWORD, scram_iterations=4096)
    if kind is PrincipalKind.GROUP:
        return await store.directory.create_principal(kind, address)
    return await store.directory.create_principal(
        kind, address, password_hash=password_hash, scram_sha256=scram
    )


async def _populate(store: Store, hasher: PasswordHasher) -> dict[str, Principal]:
    directory = store.directory
    await directory.create_domain("example.test")
    await directory.create_domain("catchall.test")
    users: dict[str, Principal] = {}
    for name, kind in [
        ("alice", PrincipalKind.USER), ("bob", PrincipalKind.USER),
        ("carol", PrincipalKind.USER), ("tiny", PrincipalKind.USER),
        ("support", PrincipalKind.SHARED), ("boardroom", PrincipalKind.ROOM),
        ("team", PrincipalKind.GROUP), ("leads", PrincipalKind.GROUP),
        ("catcher", PrincipalKind.USER),
    ]:
        users[name] = await _make_user(store, hasher, kind, f"{name}@example.test")
    await directory.add_alias(users["alice"].id, "ally@example.test")
    # team = {carol, leads}; leads = {bob, carol, team}? a cycle is refused, so only nest.
    await directory.add_member(users["leads"].id, users["bob"].id)
    await directory.add_member(users["leads"].id, users["carol"].id)
    await directory.add_member(users["team"].id, users["carol"].id)
    await directory.add_member(users["team"].id, users["leads"].id)
    await directory.grant(users["support"].id, users["alice"].id, Permission.SEND_AS)
    await directory.grant(users["bob"].id, users["alice"].id, Permission.SEND_ON_BEHALF)
    await directory.set_catch_all("catchall.test", users["catcher"].id)
    bob = users["bob"]
    await store.mail.create_mailbox(bob, AccountId(bob.id), "lists")
    users["tiny"] = await directory.update_principal(users["tiny"].id, quota_bytes=1000)
    return users


async def start_smtp_env(
    tmp_path: Path, ca: trustme.CA, *, plaintext_on_loopback: bool = False,
    max_messages_per_sender_per_hour: int | None = None,
    smtp_settings: SMTPSettings | None = None, idle_seconds: float | None = None,
) -> AsyncIterator[SMTPEnv]:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1", HOSTNAME).configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    opened = await open_store(
        f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs", durability="off"
    )
    store = cast(Store, opened)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    users = await _populate(store, hasher)
    settings = default_settings(tmp_path, hostname=HOSTNAME)
    settings = dataclasses.replace(
        settings,
        auth=dataclasses.replace(settings.auth, allow_plaintext_on_loopback=plaintext_on_loopback),
        limits=dataclasses.replace(settings.limits, max_message_bytes=MAX_MESSAGE_BYTES),
        smtp=smtp_settings or settings.smtp,
    )
    if idle_seconds is not None:
        limits = settings.limits
        settings = dataclasses.replace(settings, limits=dataclasses.replace(
            limits, idle_timeout_seconds=dataclasses.replace(
                limits.idle_timeout_seconds, smtp=idle_seconds)))
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    ctx = ServerContext(settings, store, auth, server_tls, asyncio.Event())
    listeners: list[Listener] = []
    ports: dict[str, int] = {}
    servers = build_servers(
        ctx, max_messages_per_sender_per_hour=max_messages_per_sender_per_hour
    )
    for name, server in servers.items():
        tls = server_tls if name == "submissions" else None
        listener = Listener(ListenerConfig(name, "127.0.0.1", 0, server.endpoint(), ssl=tls))
        await listener.start()
        listeners.append(listener)
        ports[name] = listener.bound[0][1]
    try:
        yield SMTPEnv(store, users, ports, client_tls, ca_pem, ctx.stopping, ctx.enqueued)
    finally:
        ctx.stopping.set()
        for listener in listeners:
            await listener.drain(2.0)
        await store.close()


# --- raw wire helpers ---------------------------------------------------------------


def read_replies(sock: socket.socket | ssl.SSLSocket, count: int) -> list[bytes]:
    """Read `count` complete replies; each is returned as its final line."""
    buffer = b""
    finals: list[bytes] = []
    while len(finals) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            if (len(line) >= 4 and line[3:4] == b" ") or len(line) == 3:
                finals.append(line)
    return finals


def raw_session(port: int, wire: bytes, replies: int) -> list[bytes]:
    """Send `wire` in one write after the greeting; return the final reply lines."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        greeting = read_replies(sock, 1)
        sock.sendall(wire)
        return greeting + read_replies(sock, replies)


# --- a SCRAM-SHA-256 client (RFC 5802 / RFC 7677), by hand ---------------------------


class ScramSHA256Client:
    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.client_first_bare = f"n={user},r={self.nonce}"
        self.server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self.client_first_bare).encode()

    def final(self, server_first: bytes) -> bytes:
        fields = dict(item.split("=", 1) for item in server_first.decode().split(","))
        assert fields["r"].startswith(self.nonce)
        salt = base64.b64decode(fields["s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, int(fields["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={fields['r']}"
        auth_message = f"{self.client_first_bare},{server_first.decode()},{without_proof}"
        signature = hmac.digest(stored_key, auth_message.encode(), "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self.server_signature = hmac.digest(server_key, auth_message.encode(), "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        return server_final == b"v=" + base64.b64encode(self.server_signature)
