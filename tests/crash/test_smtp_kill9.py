"""kill -9 of `tidings serve` (supervisor and workers at once) under SMTP load: every
message that got its 250 is in its mailbox after the restart, and everything queued
for a remote host is delivered (ARCHITECTURE.md rule 3; issue "Mail transport",
restart safety)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib
import pytest

from tests.integration.outbound_env import FakeDNS, FakeRemote, unused_port
from tidings.config import LISTENER_NAMES, load_settings
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store import open_store

ROOT = Path(__file__).resolve().parents[2]
TIDINGS = [sys.executable, "-m", "tidings.cli.main"]
DOMAIN = "crash.test"
LOCAL_USER = f"rcpt@{DOMAIN}"
SENDER = f"sender@{DOMAIN}"
PASSWORD = "crash test password"
REMOTE_RCPT = "bob@remote.test"
KILLS = 4
MX_SENDERS = 4
SUBMISSION_SENDERS = 2
FILLER = "All work and no play makes Jack a dull boy.\r\n" * 40  # ~1.8 KB


@dataclass
class Acks:
    local: set[str] = field(default_factory=set)  # Message-IDs acknowledged on the MX
    remote: set[str] = field(default_factory=set)  # ... on submission, for REMOTE_RCPT

    def grown_since(self, local: int, remote: int) -> Callable[[], bool]:
        return lambda: len(self.local) > local and len(self.remote) > remote


def _cli(*args: str, data: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*TIDINGS, *args, "--data", str(data)], cwd=ROOT, input=stdin, capture_output=True,
        text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _prepare(data: Path, dns_port: int, remote_port: int) -> None:
    subprocess.run([*TIDINGS, "init", "--data", str(data), "--domain", DOMAIN], cwd=ROOT,
                   capture_output=True, check=True, timeout=60)
    for user in (LOCAL_USER, SENDER):
        _cli("user", "add", user, "--password-stdin", data=data, stdin=PASSWORD + "\n")
    with (data / "tidings.toml").open("a", encoding="utf-8") as config:
        # A short lease: a delivery cut off by the kill is retried seconds later.
        config.write(
            f'\n[delivery]\nresolver = "127.0.0.1:{dns_port}"\nmx_port = {remote_port}\n'
            f"poll_interval_seconds = 0.5\nlease_seconds = 2\nconnect_timeout_seconds = 2\n"
            f"command_timeout_seconds = 5\n"
        )


class Server:
    """`tidings serve` with only smtp and submission on fixed loopback ports."""

    def __init__(self, data: Path, log: Path) -> None:
        self.data = data
        self.log = log
        self.smtp_port = unused_port()
        self.submission_port = unused_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        listen = [f"--listen={name}=" for name in LISTENER_NAMES
                  if name not in ("smtp", "submission")]
        listen += [f"--listen=smtp=127.0.0.1:{self.smtp_port}",
                   f"--listen=submission=127.0.0.1:{self.submission_port}"]
        with self.log.open("ab") as stderr:
            # Its own process group: with the default one worker per CPU, a kill
            # takes the supervisor and every worker at once, as a crash would.
            self.proc = await asyncio.create_subprocess_exec(
                *TIDINGS, "serve", "--data", str(self.data), *listen, cwd=ROOT,
                stdout=stderr, stderr=stderr, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.returncode is None, self.log.read_text()[-3000:]
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.submission_port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        raise AssertionError("tidings serve did not start listening")

    async def kill(self) -> None:
        """SIGKILL to the supervisor and its workers together; returns once all are gone."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        assert await self.proc.wait() == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("a worker outlived SIGKILL")

    async def stop(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(self.proc.wait(), 20) == 0


def _message(sender: str, recipient: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: load {message_id}\r\n"
        f"Message-ID: {message_id}\r\n\r\n{FILLER}"
    ).encode()


async def _sender(server: Server, acks: Acks, stop: asyncio.Event, submission: bool) -> None:
    """Send over one connection until it breaks, then reconnect; note each 250."""
    port = server.submission_port if submission else server.smtp_port
    sender = SENDER if submission else f"someone-{os.getpid()}@elsewhere.example"
    recipient, acked = (REMOTE_RCPT, acks.remote) if submission else (LOCAL_USER, acks.local)
    while not stop.is_set():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10, start_tls=False)
        try:
            await client.connect()
            if submission:
                await client.login(SENDER, PASSWORD)
            while not stop.is_set():
                message_id = f"<{uuid.uuid4().hex}@load.test>"
                await client.sendmail(sender, [recipient], _message(sender, recipient, message_id))
                acked.add(message_id)  # the 250 after DATA arrived
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            await asyncio.sleep(0.05)  # the server is down or restarting
        finally:
            client.close()


async def _eventually(check: Callable[[], bool], seconds: float) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)


async def _load_and_kill(server: Server, acks: Acks, rng: random.Random) -> None:
    stop = asyncio.Event()
    senders = [
        asyncio.create_task(_sender(server, acks, stop, submission=i < SUBMISSION_SENDERS))
        for i in range(MX_SENDERS + SUBMISSION_SENDERS)
    ]
    try:
        for _ in range(KILLS):
            await server.start()
            local, remote = len(acks.local), len(acks.remote)
            # Each round acknowledges mail on both listeners before the kill (AUTH
            # with the default Argon2 parameters takes a while on submission).
            await _eventually(acks.grown_since(local, remote), 15)
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            await server.kill()
    finally:
        stop.set()
        await asyncio.gather(*senders)


def _message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.compat32)["Message-ID"])


async def _stored_message_ids(data: Path) -> tuple[set[str], int]:
    """Message-IDs in the local user's INBOX, and how many messages are still queued."""
    settings = load_settings(data / "tidings.toml")
    store = await open_store(settings.database.url, settings.blobs.path)
    try:
        user = await store.directory.find_principal(LOCAL_USER)
        inbox = await store.mail.mailbox_by_role(user, AccountId(user.id), MailboxRole.INBOX)
        found = {
            _message_id(await store.mail.read_blob(user, m.blob_id))
            for m in await store.mail.messages(user, inbox.id)
        }
        return found, len(await store.queue.list())
    finally:
        await store.close()


async def _queued(data: Path) -> int:
    settings = load_settings(data / "tidings.toml")
    store = await open_store(settings.database.url, settings.blobs.path, migrate=False)
    try:
        return len(await store.queue.list())
    finally:
        await store.close()


def _remote_ids(remote: FakeRemote) -> set[str]:
    return {_message_id(m.data) for m in remote.messages}


@pytest.mark.crash
async def test_kill9_under_smtp_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    dns = await FakeDNS().start()
    dns.add("remote.test", "MX", (10, "mx.remote.test"))
    dns.add("mx.remote.test", "A", "127.0.0.1")
    remote = await FakeRemote().start()
    data = tmp_path / "data"
    await asyncio.to_thread(_prepare, data, dns.port, remote.port)
    server = Server(data, tmp_path / "serve.log")
    acks = Acks()
    try:
        await _load_and_kill(server, acks, random.Random())
        assert len(acks.local) >= KILLS and len(acks.remote) >= KILLS, acks

        await server.start()  # the last restart: the queue drains, nothing is sent now
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            # Also messages whose 250 the kill cut off: queued is queued.
            if acks.remote <= _remote_ids(remote) and await _queued(data) == 0:
                break
            await asyncio.sleep(0.2)
        await server.stop()
    finally:
        if server.proc is not None and server.proc.returncode is None:
            await server.kill()
        await remote.close()
        dns.close()

    missing_remote = acks.remote - _remote_ids(remote)
    assert not missing_remote, f"{len(missing_remote)} queued messages never delivered"
    stored, still_queued = await _stored_message_ids(data)
    missing = acks.local - stored
    assert not missing, f"{len(missing)} of {len(acks.local)} acknowledged messages lost"
    assert still_queued == 0
    report = await asyncio.to_thread(_cli, "check", data=data)
    assert report.rstrip().endswith(": ok"), report
