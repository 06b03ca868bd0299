"""Submission (587 STARTTLS, 465 implicit TLS) with smtplib and aiosmtplib: AUTH PLAIN,
LOGIN and SCRAM-SHA-256, sender rights, Sent copy, queue hand-off (RFC 6409, RFC 4954)."""

from __future__ import annotations

import asyncio
import base64
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest
import trustme

from tests.integration.smtp_env import (
    PASSWORD,
    ScramSHA256Client,
    SMTPEnv,
    raw_session,
    start_smtp_env,
)

NO_IDS = (b"From: Alice <alice@example.test>\r\nTo: bob@example.test, x@remote.example\r\n"
          b"Subject: from alice\r\n\r\nHi\r\n")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[SMTPEnv]:
    async for value in start_smtp_env(tmp_path, ca):
        yield value


def submit(env: SMTPEnv, sender: str, recipients: list[str], message: bytes,
           mechanism: str = "PLAIN") -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", env.ports["submission"]) as client:
        client.starttls(context=env.client_tls)
        client.ehlo()
        client.user, client.password = "alice@example.test", PASSWORD
        code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert code == 235
        return client.sendmail(sender, recipients, message)


async def test_auth_before_tls_is_refused_on_submission(env: SMTPEnv) -> None:
    wire = b"EHLO c\r\nAUTH PLAIN " + base64.b64encode(
        b"\x00alice@example.test\x00" + PASSWORD.encode()) + b"\r\nMAIL FROM:<a@example.test>\r\n"
    finals = await asyncio.to_thread(raw_session, env.ports["submission"], wire, 3)
    assert finals[2].startswith(b"538 5.7.11")
    assert finals[3].startswith(b"530 5.7.0")


async def test_starttls_auth_plain_delivers_locally_queues_remote_and_files_sent(
    env: SMTPEnv,
) -> None:
    refused = await asyncio.to_thread(
        submit, env, "alice@example.test", ["bob@example.test", "x@remote.example"], NO_IDS)
    assert refused == {}
    (raw,) = await env.messages("bob")
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert b" with ESMTPSA id " in header
    assert b"\r\nMessage-ID: <" in header and b"\r\nDate: " in header
    assert raw.endswith(NO_IDS.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\nHi\r\n")
    (sent,) = await env.messages("alice", "Sent")
    assert sent == raw
    (queued,) = await env.store.queue.list()
    assert queued.sender == "alice@example.test"
    assert [r.address for r in queued.recipients] == ["x@remote.example"]
    assert queued.submitted_by == env.users["alice"].id


async def test_auth_login_over_implicit_tls(env: SMTPEnv) -> None:
    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP_SSL("127.0.0.1", env.ports["submissions"],
                              context=env.client_tls) as client:
            client.login("alice@example.test", PASSWORD)
            return client.sendmail("ally@example.test", ["bob@example.test"],
                                   NO_IDS.replace(b"alice@", b"ally@"))

    assert await asyncio.to_thread(send) == {}
    assert len(await env.messages("bob")) == 1


async def test_auth_scram_sha256_by_hand(env: SMTPEnv) -> None:
    def login() -> tuple[int, int, bool]:
        scram = ScramSHA256Client("alice@example.test", PASSWORD)
        with smtplib.SMTP("127.0.0.1", env.ports["submission"]) as client:
            client.starttls(context=env.client_tls)
            client.ehlo()
            assert "SCRAM-SHA-256" in client.esmtp_features["auth"]
            code, server_first = client.docmd(
                "AUTH", "SCRAM-SHA-256 " + base64.b64encode(scram.first()).decode())
            assert code == 334
            code, server_final = client.docmd(
                base64.b64encode(scram.final(base64.b64decode(server_first))).decode())
            assert code == 334
            verified = scram.verify(base64.b64decode(server_final))
            done, _ = client.docmd("")
            mail, _ = client.docmd("MAIL", "FROM:<alice@example.test>")
            return done, mail, verified

    assert await asyncio.to_thread(login) == (235, 250, True)


async def test_wrong_password_is_535(env: SMTPEnv) -> None:
    def login() -> None:
        with smtplib.SMTP_SSL("127.0.0.1", env.ports["submissions"],
                              context=env.client_tls) as client:
            client.login("alice@example.test", "wrong")

    with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
        await asyncio.to_thread(login)
    assert failed.value.smtp_code == 535


async def test_forged_envelope_sender_is_refused(env: SMTPEnv) -> None:
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(submit, env, "carol@example.test", ["bob@example.test"], NO_IDS)
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error.startswith(b"5.7.60 alice@example.test may not send as")


async def test_forged_from_header_is_refused(env: SMTPEnv) -> None:
    forged = NO_IDS.replace(b"From: Alice <alice@example.test>", b"From: carol@example.test")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(submit, env, "alice@example.test", ["bob@example.test"], forged)
    assert refused.value.smtp_code == 550
    assert b"may not send mail From: <carol@example.test>" in refused.value.smtp_error
    assert await env.messages("bob") == []


async def test_send_as_and_send_on_behalf(env: SMTPEnv) -> None:
    as_support = NO_IDS.replace(b"Alice <alice@example.test>", b"support@example.test")
    on_behalf = NO_IDS.replace(b"Alice <alice@example.test>", b"Bob <bob@example.test>")
    await asyncio.to_thread(submit, env, "support@example.test", ["carol@example.test"],
                            as_support)
    await asyncio.to_thread(submit, env, "bob@example.test", ["carol@example.test"], on_behalf,
                            "LOGIN")
    first, second = await env.messages("carol")
    assert b"\r\nSender:" not in first.split(b"\r\n\r\n")[0]
    assert b"\r\nSender: alice@example.test\r\n" in second.split(b"\r\n\r\n")[0]


async def test_aiosmtplib_starttls_auth_and_send(env: SMTPEnv) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=env.ports["submission"],
                             tls_context=env.client_tls, start_tls=True)
    async with client:
        await client.login("alice@example.test", PASSWORD)
        errors, reply = await client.sendmail("alice@example.test", ["bob@example.test"],
                                              NO_IDS)
    assert errors == {} and reply.startswith("2.0.0 Message accepted")
    assert len(await env.messages("bob")) == 1


async def test_aiosmtplib_implicit_tls_and_plain_mx(env: SMTPEnv) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=env.ports["submissions"],
                               tls_context=env.client_tls, use_tls=True) as client:
        await client.login("alice@example.test", PASSWORD)
        await client.sendmail("alice@example.test", ["carol@example.test"], NO_IDS)
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=env.ports["smtp"],
                               start_tls=False) as client:
        errors, _ = await client.sendmail("x@remote.example", ["carol@example.test"], NO_IDS)
    assert errors == {}
    assert len(await env.messages("carol")) == 2


async def test_aiosmtplib_8bit_utf8_body_over_implicit_tls(env: SMTPEnv) -> None:
    body = ("From: alice@example.test\r\nTo: bob@example.test\r\nSubject: Grüße\r\n\r\n"
            "Grüße aus Köln\r\n").encode()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=env.ports["submissions"],
                               tls_context=env.client_tls, use_tls=True) as client:
        await client.login("alice@example.test", PASSWORD)
        await client.sendmail("alice@example.test", ["bob@example.test"], body,
                              mail_options=["BODY=8BITMIME", "SMTPUTF8"])
    (raw,) = await env.messages("bob")
    assert "Grüße aus Köln".encode() in raw
