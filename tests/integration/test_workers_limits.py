"""`serve --workers 2` enforces `[smtp] max_messages_per_sender_per_hour` and
`[limits] max_connections_per_ip` for the whole server, not per worker: the workers
tell each other over the peer bus (docs/decisions/0009-workers.md §6).

Which worker takes a connection is made certain, not left to chance: the other
worker is stopped (SIGSTOP) while the client connects, so only one calls accept.
The server's log names the worker of each session (`session.start ... worker=N`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.integration.test_runtime import free_ports, run_cli
from tests.integration.workers_env import SECONDS, ServedWorkers, start_serve

pytestmark = pytest.mark.slow

DOMAIN = "limits.test"
RCPT = f"rcpt@{DOMAIN}"
SENDER = "someone@elsewhere.test"
PER_HOUR = 3
PER_IP = 3


@dataclass
class Server(ServedWorkers):
    port: int

    def worker_of_client(self, smtp: smtplib.SMTP) -> int:
        host, port = smtp.sock.getsockname()[:2]
        return self.worker_of(host, port)

    def connect(self, source: str) -> smtplib.SMTP:
        """An SMTP client from `source` (any 127/8 address reaches the loopback)."""
        return smtplib.SMTP("127.0.0.1", self.port, timeout=SECONDS, source_address=(source, 0))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("worker-limits") / "data"
    done = run_cli("init", "--data", str(data), "--domain", DOMAIN)
    assert done.returncode == 0, done.stderr
    done = run_cli("user", "add", RCPT, "--data", str(data))
    assert done.returncode == 0, done.stderr
    config = data / "tidings.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("# max_connections_per_ip = 50", f"max_connections_per_ip = {PER_IP}")
    # No DNS here: the MX checks that would ask it are off.
    text = text.replace("# auth_checks = true", "auth_checks = false")
    text = text.replace("# greylisting = true", "greylisting = false")
    text = text.replace('# dnsbl_zones = ["zen.spamhaus.org"]', "dnsbl_zones = []")
    text += f"\n[smtp]\nmax_messages_per_sender_per_hour = {PER_HOUR}\n"
    config.write_text(text, encoding="utf-8")
    (port,) = free_ports(1)
    served = start_serve(data, {"smtp": port})
    proc = served.proc
    handle = Server(proc, served.log, port)
    try:
        handle.wait_ready()
        yield handle
    finally:
        for pid in handle.worker_pids().values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(SECONDS + 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(SECONDS)


def send(smtp: smtplib.SMTP, subject: str) -> tuple[int, bytes]:
    """One transaction on an open session: the MAIL reply if refused, else DATA's."""
    code, text = smtp.mail(SENDER)
    if code != 250:
        smtp.rset()
        return code, text
    assert smtp.rcpt(RCPT)[0] == 250
    return smtp.data(f"From: <{SENDER}>\r\nTo: <{RCPT}>\r\nSubject: {subject}\r\n\r\nHi.\r\n")


def test_the_hourly_sender_limit_holds_across_workers(server: Server) -> None:
    sessions: dict[int, smtplib.SMTP] = {}
    try:
        for worker in (0, 1):
            with server.only(worker):
                sessions[worker] = server.connect("127.0.0.2")
            assert server.worker_of_client(sessions[worker]) == worker
            sessions[worker].ehlo("client.test")
        # Alternate between the workers: each alone would allow 3 of its own.
        replies = [send(sessions[i % 2], f"limited {i}") for i in range(5)]
    finally:
        for smtp in sessions.values():
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
    assert [code for code, _ in replies] == [250, 250, 250, 450, 450], replies
    assert all(text.startswith(b"4.7.1 ") for _, text in replies[3:]), replies


def test_the_per_ip_connection_limit_holds_across_workers(server: Server) -> None:
    client = "127.0.0.3"
    held: list[smtplib.SMTP] = []
    try:
        for worker in (0, 0, 1):
            with server.only(worker):
                held.append(server.connect(client))
            assert server.worker_of_client(held[-1]) == worker
        # Worker 0 has 2 and worker 1 has 1: each alone is under the limit of 3.
        for worker in (0, 1):
            with server.only(worker), pytest.raises(smtplib.SMTPConnectError) as refused:
                server.connect(client)
            assert refused.value.smtp_code == 421
        # Another address is not affected.
        with server.connect("127.0.0.4") as other:
            assert other.noop()[0] == 250
        # A connection that ends frees its place, in the other worker too.
        port = held[-1].sock.getsockname()[1]
        held.pop().quit()
        server.wait_for_log(rf"session\.end .*peer={re.escape(client)}:{port} ")
        with server.only(0):
            held.append(server.connect(client))
        assert server.worker_of_client(held[-1]) == 0
    finally:
        for smtp in held:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
