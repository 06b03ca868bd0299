"""`tidings serve --workers 2` in a subprocess: one supervisor, two workers sharing the
listeners. Connections land on both; a delivery in one worker wakes an IDLE session
in the other; the POP3 maildrop lock holds across them; a message queued through
worker 1 is delivered by worker 0's scheduler at once; a killed worker is replaced;
SIGTERM drains and exits 0 (docs/decisions/0009-workers.md).

Which worker serves a connection is read from the server's log: every line carries
`worker=N`, and a session's `session.start` line (written before the greeting) names
the client's port.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import poplib
import re
import signal
import smtplib
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.outbound_env import FakeDNS, FakeRemote
from tests.integration.test_runtime import free_ports, run_cli
from tests.integration.workers_env import SECONDS, ServedWorkers, start_serve
from tidings.config import LISTENER_NAMES, load_settings
from tidings.directory.admin import DirectoryAdmin
from tidings.server import SERVED_LISTENERS, collect_handlers, loopback_settings, running
from tidings.server_listeners import HTTP_LISTENERS
from tidings.store_settings import open_configured_store

pytestmark = pytest.mark.slow

T = TypeVar("T")
DOMAIN = "workers.test"
RCPT = f"rcpt@{DOMAIN}"
SENDER = f"sender@{DOMAIN}"
PASSWORD = "workers test password"
REMOTE = "bob@remote.test"
LISTENERS = ("smtp", "submission", "imap", "pop3", "http")


class BackgroundLoop:
    """An event loop in a thread, for the fake DNS server and remote MX host."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(SECONDS)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(SECONDS)
        self.loop.close()


@dataclass
class Server(ServedWorkers):
    ports: dict[str, int]
    remote: FakeRemote

    def worker_of_port(self, client_port: int) -> int:
        """The worker that accepted the connection from our `client_port`."""
        return self.worker_of("127.0.0.1", client_port)


async def _add_users(data: Path) -> None:
    store = await open_configured_store(load_settings(data / "tidings.toml"))
    try:
        admin = DirectoryAdmin(store.directory)
        await admin.add_user(RCPT, password=PASSWORD)
        await admin.add_user(SENDER, password=PASSWORD)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("workers") / "data"
    done = run_cli("init", "--data", str(data), "--domain", DOMAIN)
    assert done.returncode == 0, done.stderr
    asyncio.run(_add_users(data))
    background = BackgroundLoop()
    dns = background.run(FakeDNS().start())
    dns.add("remote.test", "MX", (10, "mx.remote.test"))
    dns.add("mx.remote.test", "A", "127.0.0.1")
    remote = background.run(FakeRemote().start())
    with (data / "tidings.toml").open("a", encoding="utf-8") as config:
        # A poll far beyond the test's patience: only the wake-up can deliver in time.
        config.write(
            f'\n[delivery]\nresolver = "127.0.0.1:{dns.port}"\nmx_port = {remote.port}\n'
            "poll_interval_seconds = 600\nconnect_timeout_seconds = 2\n"
            "command_timeout_seconds = 5\n"
        )
    ports = dict(zip(LISTENERS, free_ports(len(LISTENERS)), strict=True))
    served = start_serve(data, ports)
    handle = Server(served.proc, served.log, ports, remote)
    try:
        handle.wait_ready()
        yield handle
    finally:
        handle.kill()
        background.run(remote.close())
        dns.close()
        background.close()


def message(subject: str, to: str = RCPT) -> str:
    return f"From: <{SENDER}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\r\nHello.\r\n"


def send_one(server: Server, subject: str, worker: int | None = None) -> int:
    """Deliver one message over a new SMTP connection (accepted by `worker` when
    given); returns the worker that took it."""
    with contextlib.ExitStack() as placing:
        if worker is not None:
            placing.enter_context(server.only(worker))
        smtp = smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=SECONDS)
    with smtp:
        took = server.worker_of_port(smtp.sock.getsockname()[1])
        smtp.sendmail(SENDER, [RCPT], message(subject))
    return took


def imap_login(server: Server) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=SECONDS)
    imap.login(RCPT, PASSWORD)
    return imap


def count_subject(server: Server, subject: str) -> int:
    imap = imap_login(server)
    try:
        imap.select("INBOX", readonly=True)
        _, found = imap.search(None, "SUBJECT", f'"{subject}"')
        return len(found[0].split())
    finally:
        imap.logout()


def test_the_supervisor_forks_two_workers(server: Server) -> None:
    pids = server.worker_pids()
    assert sorted(pids) == [0, 1]
    for pid in pids.values():
        stat = Path(f"/proc/{pid}/stat").read_text()
        parent = int(stat.rpartition(")")[2].split()[1])
        assert parent == server.proc.pid
    for path in ("/healthz", "/metrics"):  # answered by whichever worker accepts
        response = httpx.get(f"http://127.0.0.1:{server.ports['http']}{path}", timeout=SECONDS)
        assert response.status_code == 200
    assert "outbound.started" in server.text()
    # Only worker 0 runs the singleton tasks.
    assert not re.search(r"outbound\.started .*worker=1", server.text())


def test_connections_land_on_both_workers_and_every_message_is_stored(server: Server) -> None:
    with ThreadPoolExecutor(8) as pool:
        workers = list(pool.map(lambda i: send_one(server, f"spread {i}"), range(48)))
    assert set(workers) == {0, 1}, workers
    assert count_subject(server, "spread") == 48


def test_idle_in_one_worker_wakes_on_a_delivery_in_the_other(server: Server) -> None:
    imap = imap_login(server)
    try:
        imap.select("INBOX")
        idle_worker = server.worker_of_port(imap.sock.getsockname()[1])
        tag = imap._new_tag().decode()  # type: ignore[attr-defined]
        imap.send(f"{tag} IDLE\r\n".encode())
        assert imap.readline().startswith(b"+")
        other = 1 - idle_worker
        assert send_one(server, "wake", worker=other) == other
        # The IDLE session learns of it only through the peer channel: IDLE does not poll.
        read_until_exists(imap)
        imap.send(b"DONE\r\n")
        while not (line := imap.readline()).startswith(tag.encode()):
            assert line.startswith(b"* "), line
        assert line.startswith(tag.encode() + b" OK")
    finally:
        imap.logout()


def read_until_exists(imap: imaplib.IMAP4) -> None:
    """The next `* N EXISTS` (RECENT and FETCH lines may come along); the socket's
    timeout fails the test when none comes."""
    while not re.match(rb"\* \d+ EXISTS", line := imap.readline()):
        assert line.startswith(b"* "), line


def pop3_on(server: Server, worker: int) -> poplib.POP3:
    """A POP3 connection accepted by `worker`."""
    with server.only(worker):
        pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=SECONDS)
    assert server.worker_of_port(pop.sock.getsockname()[1]) == worker
    return pop


def test_pop3_maildrop_lock_excludes_across_workers(server: Server) -> None:
    first, second = pop3_on(server, 0), pop3_on(server, 1)
    try:
        first.user(RCPT)
        first.pass_(PASSWORD)
        second.user(RCPT)
        with pytest.raises(poplib.error_proto, match=r"IN-USE"):
            second.pass_(PASSWORD)
        first.quit()  # releases the lock
        third = pop3_on(server, 1)
        third.user(RCPT)
        assert third.pass_(PASSWORD).startswith(b"+OK")
        third.quit()
    finally:
        with contextlib.suppress(poplib.error_proto, OSError):
            second.close()


def test_a_message_queued_through_worker_1_is_delivered_at_once(server: Server) -> None:
    with server.only(1):
        smtp = smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=SECONDS)
    assert server.worker_of_port(smtp.sock.getsockname()[1]) == 1
    with smtp:
        smtp.login(SENDER, PASSWORD)
        smtp.sendmail(SENDER, [REMOTE], message("outbound via 1", to=REMOTE))
    deadline = time.monotonic() + SECONDS
    while not any(REMOTE in m.recipients for m in server.remote.messages):
        assert time.monotonic() < deadline, "worker 0's scheduler was not woken"
        time.sleep(0.02)
    assert re.search(r"outbound\.connected .*worker=0", server.text())
    assert not re.search(r"outbound\.connected .*worker=1", server.text())


def test_a_listener_the_supervisor_cannot_bind_fails_the_start(server: Server) -> None:
    data = server.log.parent / "data"
    taken = f"--listen=smtp=127.0.0.1:{server.ports['smtp']}"  # the running server's
    others = [f"--listen={n}=" for n in LISTENER_NAMES if n != "smtp"]
    done = run_cli("serve", "--data", str(data), "--workers", "2", taken, *others)
    assert done.returncode == 1
    assert "tidings: error: listeners.smtp: cannot listen on 127.0.0.1:" in done.stderr
    assert "worker.started" not in done.stderr


def test_a_bad_worker_count_is_refused_in_one_line(server: Server) -> None:
    done = run_cli("serve", "--data", str(server.log.parent / "data"), "--workers", "65")
    assert done.returncode == 2
    assert done.stderr == (
        'tidings: error: --workers: expected an integer from 1 to 64 or "auto", got 65\n'
    )


def test_a_killed_worker_is_restarted_and_serving_goes_on(server: Server) -> None:
    old = server.worker_pids()[1]
    os.kill(old, signal.SIGKILL)
    server.wait_for_log(rf"worker\.died worker=1 pid={old} signal=SIGKILL")
    server.wait_for_log(r"server\.ready .* worker=1", count=2)
    new = server.worker_pids()[1]
    assert new != old
    with ThreadPoolExecutor(8) as pool:
        workers = list(pool.map(lambda i: send_one(server, f"after kill {i}"), range(32)))
    assert set(workers) == {0, 1}, workers
    assert count_subject(server, "after kill") == 32


def test_sigterm_drains_every_worker_and_exits_0(server: Server) -> None:
    pids = server.worker_pids().values()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(SECONDS + 15) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    text = server.text()
    assert "Traceback" not in text
    assert len(re.findall(r"server\.stopped worker=", text)) >= 2
    assert not list((server.log.parent / "data" / "run").glob("*.sock"))
    with pytest.raises(OSError), socket.create_connection(
        ("127.0.0.1", server.ports["smtp"]), timeout=1
    ):
        pass


async def test_served_listeners_are_the_ones_with_handlers(tmp_path: Path) -> None:
    """The supervisor binds SERVED_LISTENERS without building handlers: it must name
    exactly what PROTOCOLS and the web app serve."""
    async with running(loopback_settings(tmp_path, "smtp")) as live:
        served = set(collect_handlers(live.ctx)) | HTTP_LISTENERS
    assert served == SERVED_LISTENERS
