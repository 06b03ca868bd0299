"""Connection-level behaviour over a socket: STARTTLS injection, shutdown 421,
per-sender rate limit, too many errors."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.smtp_env import SMTPEnv, raw_session, read_replies, start_smtp_env

MESSAGE = b"From: s@remote.example\r\nSubject: x\r\n\r\nhi\r\n"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[SMTPEnv]:
    async for value in start_smtp_env(tmp_path, ca, max_messages_per_sender_per_hour=2):
        yield value


async def test_commands_pipelined_after_starttls_are_discarded(env: SMTPEnv) -> None:
    def session() -> list[bytes]:
        with socket.create_connection(("127.0.0.1", env.ports["smtp"]), timeout=10) as sock:
            read_replies(sock, 1)
            sock.sendall(b"EHLO c\r\n")
            read_replies(sock, 1)
            # The injected RSET/NOOP would answer first if they survived the upgrade.
            sock.sendall(b"STARTTLS\r\nNOOP\r\nRSET\r\n")
            assert read_replies(sock, 1)[0].startswith(b"220 2.0.0")
            with env.client_tls.wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(b"EHLO c\r\nQUIT\r\n")
                return read_replies(tls, 2)

    finals = await asyncio.to_thread(session)
    assert finals[0] == b"250 HELP"
    assert finals[1].startswith(b"221")


async def test_idle_session_gets_421_when_the_server_stops(env: SMTPEnv) -> None:
    def session() -> list[bytes]:
        with socket.create_connection(("127.0.0.1", env.ports["smtp"]), timeout=10) as sock:
            greeting = read_replies(sock, 1)
            env_loop.call_soon_threadsafe(env.stopping.set)
            return greeting + read_replies(sock, 1)

    env_loop = asyncio.get_running_loop()
    finals = await asyncio.to_thread(session)
    assert finals[1].startswith(b"421 4.3.2")


async def test_a_silent_client_gets_421_after_the_idle_timeout_and_others_go_on(
    tmp_path: Path, ca: trustme.CA
) -> None:
    async for short in start_smtp_env(tmp_path, ca, idle_seconds=0.3):
        def silent(port: int) -> list[bytes]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                return read_replies(s, 2)  # the greeting, then nothing is sent

        finals = await asyncio.to_thread(silent, short.ports["smtp"])
        assert finals[1].startswith(b"421 4.4.2")
        wire = b"EHLO c\r\nQUIT\r\n"
        replies = await asyncio.to_thread(raw_session, short.ports["smtp"], wire, 3)
        assert replies[-1].startswith(b"221")


async def test_sender_rate_limit_answers_450_after_the_limit(env: SMTPEnv) -> None:
    one = (b"MAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           + MESSAGE + b".\r\n")
    wire = b"EHLO c\r\n" + one * 2 + b"MAIL FROM:<s@remote.example>\r\nQUIT\r\n"
    finals = await asyncio.to_thread(raw_session, env.ports["smtp"], wire, 10)
    assert finals[-2].startswith(b"450 4.7.1")
    assert len(await env.messages("bob")) == 2


async def test_too_many_errors_close_the_connection(env: SMTPEnv) -> None:
    finals = await asyncio.to_thread(raw_session, env.ports["smtp"], b"BAD\r\n" * 30, 21)
    assert finals[-1].startswith(b"421 4.7.0")
    assert len(finals) == 22


async def test_tls_client_without_trust_fails_cleanly_and_server_goes_on(env: SMTPEnv) -> None:
    def bad_handshake() -> None:
        with socket.create_connection(("127.0.0.1", env.ports["submissions"]), timeout=10) as s:
            context = ssl.create_default_context()
            with pytest.raises(ssl.SSLError):
                context.wrap_socket(s, server_hostname="localhost")

    await asyncio.to_thread(bad_handshake)
    finals = await asyncio.to_thread(raw_session, env.ports["smtp"], b"QUIT\r\n", 1)
    assert finals[-1].startswith(b"221")
