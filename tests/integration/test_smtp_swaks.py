"""Debian's swaks against the SMTP listeners: MX delivery to a local user (with
PIPELINING) and submission with AUTH over STARTTLS and implicit TLS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.smtp_env import PASSWORD, SMTPEnv, start_smtp_env

pytestmark = pytest.mark.needs_program("swaks", package="swaks")

MESSAGE = (b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: swaks test\r\n"
           b"Message-ID: <swaks-1@example.test>\r\n\r\nsent by swaks\r\n")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[SMTPEnv]:
    async for value in start_smtp_env(tmp_path, ca):
        yield value


async def swaks(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "swaks", "--server", "127.0.0.1", "--helo", "client.test", "--timeout", "20", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode(errors="replace")


async def test_swaks_delivers_to_a_local_user_with_pipelining(
    env: SMTPEnv, tmp_path: Path
) -> None:
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    code, output = await swaks(
        "--port", str(env.ports["smtp"]), "--from", "sender@remote.example",
        "--to", "bob@example.test", "--pipeline", "--data", f"@{message}",
    )
    assert code == 0, output
    assert "250 2.0.0 Message accepted" in output
    (raw,) = await env.messages("bob")
    assert MESSAGE in raw  # swaks adds a final CRLF of its own


async def test_swaks_open_relay_attempt_fails(env: SMTPEnv) -> None:
    code, output = await swaks(
        "--port", str(env.ports["smtp"]), "--from", "s@remote.example",
        "--to", "victim@elsewhere.example",
    )
    assert code != 0
    assert "550 5.7.1 Relay access denied" in output


async def test_swaks_submits_with_auth_over_starttls(env: SMTPEnv, tmp_path: Path) -> None:
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    code, output = await swaks(
        "--port", str(env.ports["submission"]), "--tls", "--tls-ca-path", str(env.ca_pem),
        "--auth", "PLAIN", "--auth-user", "alice@example.test", "--auth-password", PASSWORD,
        "--from", "alice@example.test", "--to", "bob@example.test", "--data", f"@{message}",
    )
    assert code == 0, output
    assert "235 2.7.0 Authentication successful" in output
    (raw,) = await env.messages("bob")
    assert b" with ESMTPSA id " in raw.split(b"\r\n\r\n")[0]
    assert len(await env.messages("alice", "Sent")) == 1


async def test_swaks_auth_login_over_implicit_tls(env: SMTPEnv) -> None:
    code, output = await swaks(
        "--port", str(env.ports["submissions"]), "--tls-on-connect",
        "--auth", "LOGIN", "--auth-user", "alice@example.test", "--auth-password", PASSWORD,
        "--from", "alice@example.test", "--to", "carol@example.test",
    )
    assert code == 0, output
    assert len(await env.messages("carol")) == 1
