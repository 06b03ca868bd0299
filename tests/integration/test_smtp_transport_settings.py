"""SMTP on loopback: a UTF-8 mailbox reached with SMTPUTF8 (RFC 6531), the [smtp]
settings (bare line endings, postmaster, per-sender rate), ORCPT kept in the queue
and the outbound scheduler woken by a submission."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from tests.integration.outbound_env import FakeDNS, FakeRemote
from tests.integration.smtp_env import PASSWORD, SMTPEnv, raw_session, start_smtp_env
from tidings.config import BareLineEndingPolicy, ListenAddress, SMTPSettings
from tidings.delivery.outbound import run_outbound
from tidings.directory.admin import DirectoryAdmin
from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId
from tidings.server import loopback_settings, running
from tidings.smtp.server import listeners as smtp_listeners


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def _env(tmp_path: Path, ca: trustme.CA, **smtp: object) -> AsyncIterator[SMTPEnv]:
    async for value in start_smtp_env(
        tmp_path, ca, plaintext_on_loopback=True,
        smtp_settings=SMTPSettings(**smtp),  # type: ignore[arg-type]
    ):
        yield value


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[SMTPEnv]:
    async for value in _env(tmp_path, ca, postmaster="alice@example.test"):
        yield value


async def test_smtputf8_mail_reaches_a_mailbox_with_a_utf8_local_part(env: SMTPEnv) -> None:
    jose = await env.store.directory.create_principal(PrincipalKind.USER, "jösé@example.test")
    message = ("From: zoë@remote.example\r\nTo: jösé@example.test\r\nSubject: olá\r\n"
               "\r\nBom dia, José\r\n").encode()

    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", env.ports["smtp"]) as client:
            # Upper case and decomposed (NFD) on the wire: the same mailbox.
            return client.sendmail("zoë@remote.example", ["JO\u0308SE\u0301@example.test"],
                                   message, mail_options=["SMTPUTF8", "BODY=8BITMIME"])

    assert await asyncio.to_thread(send) == {}
    box = await env.store.mail.find_mailbox(jose, AccountId(jose.id), "INBOX")
    [stored] = await env.store.mail.messages(jose, box.id)
    raw = await env.store.mail.read_blob(jose, stored.blob_id)
    assert raw.endswith(message)


async def test_bare_postmaster_goes_to_the_configured_address(env: SMTPEnv) -> None:
    wire = (b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<postmaster>\r\n"
            b"RCPT TO:<Postmaster@catchall.test>\r\nRCPT TO:<postmaster@remote.example>\r\n"
            b"DATA\r\nSubject: abuse\r\n\r\nreport\r\n.\r\nQUIT\r\n")
    finals = await asyncio.to_thread(raw_session, env.ports["smtp"], wire, 8)
    # catchall.test has a catch-all of its own; remote.example is not ours (no relay).
    assert [int(f[:3]) for f in finals] == [220, 250, 250, 250, 250, 550, 354, 250, 221]
    assert len(await env.messages("alice")) == 1
    assert len(await env.messages("catcher")) == 1


async def test_postmaster_of_a_local_domain_without_one_goes_to_the_configured_address(
    env: SMTPEnv,
) -> None:
    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", env.ports["smtp"]) as client:
            return client.sendmail("s@remote.example", ["postmaster@example.test"],
                                   b"Subject: hi\r\n\r\nhello\r\n")

    assert await asyncio.to_thread(send) == {}
    [raw] = await env.messages("alice")
    assert b"for <postmaster@example.test>" in raw


async def test_without_a_postmaster_setting_an_unknown_postmaster_is_550(
    tmp_path: Path, ca: trustme.CA
) -> None:
    async for env in _env(tmp_path, ca):
        wire = b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<postmaster@example.test>\r\n"
        finals = await asyncio.to_thread(raw_session, env.ports["smtp"], wire, 3)
        assert finals[-1].startswith(b"550 5.1.1")


async def test_bare_line_endings_normalize_setting_accepts_and_rewrites(
    tmp_path: Path, ca: trustme.CA
) -> None:
    async for env in _env(tmp_path, ca, bare_line_endings=BareLineEndingPolicy.NORMALIZE):
        wire = (b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.test>\r\n"
                b"DATA\r\nSubject: x\r\n\r\none\ntwo\r\n.\r\nQUIT\r\n")
        finals = await asyncio.to_thread(raw_session, env.ports["smtp"], wire, 6)
        assert [int(f[:3]) for f in finals] == [220, 250, 250, 250, 354, 250, 221]
        [raw] = await env.messages("bob")
        assert raw.endswith(b"\r\none\r\ntwo\r\n")


async def test_bare_line_endings_are_refused_by_default(env: SMTPEnv) -> None:
    wire = (b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<bob@example.test>\r\n"
            b"DATA\r\nSubject: x\r\n\r\none\ntwo\r\n.\r\nQUIT\r\n")
    finals = await asyncio.to_thread(raw_session, env.ports["smtp"], wire, 6)
    assert [int(f[:3]) for f in finals] == [220, 250, 250, 250, 354, 550, 221]
    assert await env.messages("bob") == []


async def test_rate_limit_setting_refuses_the_next_message_with_450(
    tmp_path: Path, ca: trustme.CA
) -> None:
    async for env in _env(tmp_path, ca, max_messages_per_sender_per_hour=2):
        def send(port: int) -> list[int]:
            codes = []
            with smtplib.SMTP("127.0.0.1", port) as client:
                for _ in range(3):
                    try:
                        client.sendmail("s@remote.example", ["bob@example.test"],
                                        b"Subject: x\r\n\r\nx\r\n")
                        codes.append(250)
                    except smtplib.SMTPSenderRefused as exc:
                        codes.append(exc.smtp_code)
            return codes

        assert await asyncio.to_thread(send, env.ports["smtp"]) == [250, 250, 450]


async def test_submission_queues_orcpt_and_wakes_the_outbound_scheduler(env: SMTPEnv) -> None:
    woken: list[int] = []
    env.enqueued.connect(lambda: woken.append(1))

    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", env.ports["submission"]) as client:
            client.ehlo()
            client.login("alice@example.test", PASSWORD)
            return client.sendmail(
                "alice@example.test", ["friend@remote.example"],
                b"From: alice@example.test\r\nTo: friend@remote.example\r\nSubject: s\r\n\r\nx\r\n",
                rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;old+2Bfriend@remote.example"],
            )

    assert await asyncio.to_thread(send) == {}
    assert woken == [1]
    [queued] = await env.store.queue.list()
    [recipient] = queued.recipients
    assert (recipient.notify, recipient.orcpt) == ("FAILURE", "rfc822;old+friend@remote.example")


async def test_submitted_remote_mail_leaves_at_once_not_at_the_next_poll(tmp_path: Path) -> None:
    dns = await FakeDNS().start()
    dns.add("remote.test", "MX", (10, "mx.remote.test"))
    dns.add("mx.remote.test", "A", "127.0.0.1")
    remote = await FakeRemote().start()
    settings = loopback_settings(tmp_path, "submission", hostname="mail.local.test")
    settings = replace(settings, delivery=replace(
        settings.delivery, resolver=ListenAddress("127.0.0.1", dns.port), mx_port=remote.port,
        poll_interval_seconds=600.0,  # only the wake-up can make this test pass in time
    ))
    try:
        async with running(settings, protocols=(smtp_listeners,)) as server:
            admin = DirectoryAdmin(server.ctx.store.directory)
            await admin.add_domain("local.test")
            await admin.add_user("alice@local.test", password=PASSWORD)
            stop = asyncio.Event()
            outbound = asyncio.create_task(run_outbound(server.ctx, stop))
            await asyncio.sleep(0.1)  # the scheduler's first look at the (empty) queue
            host, port = server.addresses["submission"]

            def send() -> dict[str, tuple[int, bytes]]:
                with smtplib.SMTP(host, port) as client:
                    client.login("alice@local.test", PASSWORD)
                    return client.sendmail("alice@local.test", ["bob@remote.test"],
                                           b"From: alice@local.test\r\nSubject: s\r\n\r\nx\r\n")

            try:
                assert await asyncio.to_thread(send) == {}
                for _ in range(100):
                    if remote.messages:
                        break
                    await asyncio.sleep(0.05)
                assert [m.recipients for m in remote.messages] == [["bob@remote.test"]]
            finally:
                stop.set()
                await asyncio.wait_for(outbound, 10)
    finally:
        await remote.close()
        dns.close()
