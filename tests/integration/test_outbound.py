"""Outbound delivery end to end on loopback: a fake DNS server publishes MX records,
a fake SMTP host plays the remote, time is simulated."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.integration.outbound_env import unused_port
from tests.integration.outbound_fixture import ALICE, OutboundWorld, message, outbound_world
from tidings.config import ListenAddress, SmarthostTLS
from tidings.delivery.outbound.stages import OutboundMessage
from tidings.directory.admin import DirectoryAdmin
from tidings.model.errors import TemporaryFailure
from tidings.model.queue import RecipientState


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[OutboundWorld]:
    async for w in outbound_world(tmp_path):
        yield w


def parts(msg: Message) -> list[Message]:
    """The sub-parts of a multipart or message/* part."""
    payload = msg.get_payload()
    assert isinstance(payload, list)
    return [part for part in payload if isinstance(part, Message)]


def text(msg: Message) -> str:
    payload = msg.get_payload()
    assert isinstance(payload, str)
    return payload


def _status(report: Message) -> list[Message]:
    """The per-recipient blocks of a DSN's message/delivery-status part."""
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    status = parts(report)[1]
    assert status.get_content_type() == "message/delivery-status"
    return parts(status)[1:]


async def test_message_is_delivered_to_the_mx_host_with_its_exact_bytes(
    world: OutboundWorld,
) -> None:
    raw = message("Exact bytes", "Line one\r\n.leading dot\r\nend")
    queued = await world.enqueue(["bob@remote.test"], raw)
    report = await world.scheduler.run_once()
    assert (report.delivered, report.deferred, report.failed) == (1, 0, 0)
    [got] = world.remote.messages
    assert got.data == raw
    assert (got.sender, got.recipients) == (ALICE, ["bob@remote.test"])
    assert ("remote.test", "MX") in world.dns.queries
    assert await world.store.queue.list() == []  # finished entries leave the queue
    assert queued.id > 0


async def test_ehlo_uses_the_configured_hostname_and_size_is_declared(
    world: OutboundWorld,
) -> None:
    await world.enqueue(["bob@remote.test"])
    await world.scheduler.run_once()
    assert "EHLO mail.local.test" in world.remote.commands
    [got] = world.remote.messages
    assert f"SIZE={len(got.data)}" in got.mail_params


async def test_opportunistic_starttls_is_used_when_offered(world: OutboundWorld) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("mx.remote.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    world.remote.tls = context
    await world.enqueue(["bob@remote.test"])
    await world.scheduler.run_once()
    [got] = world.remote.messages
    assert got.tls  # self-signed and unverified: opportunistic TLS still encrypts
    assert "STARTTLS" in world.remote.commands


async def test_eight_bit_body_is_sent_with_body_8bitmime(world: OutboundWorld) -> None:
    raw = "From: a@local.test\r\nSubject: x\r\n\r\nÇa marche\r\n".encode()
    await world.enqueue(["bob@remote.test"], raw)
    await world.scheduler.run_once()
    [got] = world.remote.messages
    assert "BODY=8BITMIME" in got.mail_params
    assert got.data == raw


async def test_some_recipients_accepted_others_refused_bounce_only_the_refused(
    world: OutboundWorld,
) -> None:
    world.remote.rcpt_reply = lambda a: (550, "5.1.1 no such user") if a.startswith(
        "nobody") else (250, "2.1.5 OK")
    await world.enqueue(["bob@remote.test", "nobody@remote.test"])
    report = await world.scheduler.run_once()
    assert (report.delivered, report.failed, report.bounces) == (1, 1, 1)
    [got] = world.remote.messages
    assert got.recipients == ["bob@remote.test"]
    [bounce] = await world.inbox()
    [recipient] = _status(bounce)
    assert recipient["Final-Recipient"] == "rfc822; nobody@remote.test"
    assert recipient["Action"] == "failed"
    assert recipient["Status"] == "5.1.1"
    assert recipient["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user"
    assert recipient["Remote-MTA"] == "dns; mx.remote.test"


async def test_a_4xx_is_retried_after_the_backoff_and_then_delivered(
    world: OutboundWorld,
) -> None:
    replies = iter([(451, "4.7.1 greylisted, come back later")])
    world.remote.rcpt_reply = lambda a: next(replies, (250, "2.1.5 OK"))
    queued = await world.enqueue(["bob@remote.test"])
    first = await world.scheduler.run_once()
    assert (first.deferred, first.delivered) == (1, 0)
    [pending] = (await world.store.queue.get(queued.id)).recipients
    assert pending.state is RecipientState.PENDING
    assert pending.attempts == 1
    assert pending.last_error == "451 4.7.1 greylisted, come back later"
    assert pending.next_attempt_at is not None and pending.next_attempt_at > world.clock.now

    too_early = await world.scheduler.run_once()
    assert too_early.attempted == 0

    world.clock.advance(seconds=301)
    second = await world.scheduler.run_once()
    assert second.delivered == 1
    assert len(world.remote.messages) == 1
    assert await world.inbox() == []  # no bounce, no delay notice


async def test_a_5xx_produces_a_bounce_in_the_senders_inbox(world: OutboundWorld) -> None:
    world.remote.data_reply = (554, "5.7.1 message refused by policy")
    original = message("Refused one")
    await world.enqueue(["bob@remote.test"], original, dsn_ret="FULL", dsn_envid="env-1")
    report = await world.scheduler.run_once()
    assert (report.failed, report.bounces) == (1, 1)
    [bounce] = await world.inbox()
    assert bounce["From"].startswith("Mail Delivery System")
    assert bounce["Auto-Submitted"] == "auto-replied"
    [recipient] = _status(bounce)
    assert (recipient["Action"], recipient["Status"]) == ("failed", "5.7.1")
    per_message = parts(parts(bounce)[1])[0]
    assert per_message["Original-Envelope-Id"] == "env-1"
    returned = parts(bounce)[2]
    assert returned.get_content_type() == "message/rfc822"
    assert parts(returned)[0]["Subject"] == "Refused one"
    assert await world.store.queue.list() == []


async def test_a_dead_host_gives_a_delay_notice_after_4h_and_a_bounce_after_5_days(
    world: OutboundWorld,
) -> None:
    world.dns.add("dead.test", "MX", (10, "mx.dead.test"))
    world.dns.add("mx.dead.test", "A", "127.0.0.2")  # nothing listens there
    queued = await world.enqueue(["carol@dead.test"])
    start = world.clock.now
    assert (await world.scheduler.run_once()).deferred == 1
    assert await world.inbox() == []

    notices = 0
    while world.clock.now - start < timedelta(hours=4):
        world.clock.advance(seconds=4000)
        report = await world.scheduler.run_once()
        notices += report.delay_notices
    assert notices == 1
    [notice] = await world.inbox()
    [recipient] = _status(notice)
    assert recipient["Action"] == "delayed"
    assert recipient["Will-Retry-Until"]
    assert (await world.store.queue.get(queued.id)).delay_notified

    bounces = 0
    while world.clock.now - start <= timedelta(days=5):
        world.clock.advance(hours=6)  # every retry is due by then (steps cap at 4000 s)
        report = await world.scheduler.run_once()
        assert report.delay_notices == 0  # only once
        bounces += report.bounces
    assert bounces == 1
    notice, bounce = await world.inbox()
    [recipient] = _status(bounce)
    assert (recipient["Action"], recipient["Status"]) == ("failed", "4.4.7")
    assert "127.0.0.2" in recipient["Diagnostic-Code"]
    assert await world.store.queue.list() == []


async def test_null_mx_fails_at_once_with_5_1_10(world: OutboundWorld) -> None:
    world.dns.add("nomail.test", "MX", (0, "."))
    await world.enqueue(["x@nomail.test"])
    report = await world.scheduler.run_once()
    assert (report.failed, report.bounces) == (1, 1)
    [bounce] = await world.inbox()
    [recipient] = _status(bounce)
    assert recipient["Status"] == "5.1.10"


async def test_nonexistent_domain_bounces(world: OutboundWorld) -> None:
    await world.enqueue(["x@no-such-domain.test"])
    assert (await world.scheduler.run_once()).failed == 1
    [bounce] = await world.inbox()
    assert _status(bounce)[0]["Status"] == "5.1.2"


async def test_dns_server_failure_is_retried_not_bounced(world: OutboundWorld) -> None:
    world.dns.servfail.add("flaky.test")
    await world.enqueue(["x@flaky.test"])
    report = await world.scheduler.run_once()
    assert (report.deferred, report.bounces) == (1, 0)
    assert await world.inbox() == []


async def test_domain_without_mx_uses_its_address_record(world: OutboundWorld) -> None:
    world.dns.add("implicit.test", "A", "127.0.0.1")
    await world.enqueue(["dan@implicit.test"])
    assert (await world.scheduler.run_once()).delivered == 1
    assert world.remote.messages[0].recipients == ["dan@implicit.test"]


async def test_second_mx_is_tried_when_the_first_is_down(world: OutboundWorld) -> None:
    world.dns.add("backup.test", "MX", (10, "mx1.backup.test"), (20, "mx2.backup.test"))
    world.dns.add("mx1.backup.test", "A", "127.0.0.3")
    world.dns.add("mx2.backup.test", "A", "127.0.0.1")
    await world.enqueue(["eve@backup.test"])
    assert (await world.scheduler.run_once()).delivered == 1


async def test_one_connection_carries_several_messages_to_one_destination(
    world: OutboundWorld,
) -> None:
    for n in range(3):
        await world.enqueue(["bob@remote.test"], message(f"Message {n}"))
    report = await world.scheduler.run_once()
    assert report.delivered == 3
    assert world.remote.connections == 1
    assert report.connections == 1
    assert len(world.remote.messages) == 3


async def test_a_bounce_is_never_bounced(world: OutboundWorld) -> None:
    world.remote.rcpt_reply = lambda a: (550, "5.1.1 no such user")
    await world.enqueue(["bob@remote.test"], sender="")
    report = await world.scheduler.run_once()
    assert (report.failed, report.bounces) == (1, 0)
    assert await world.store.queue.list() == []
    assert await world.inbox() == []


async def test_bounce_to_a_remote_sender_is_queued_from_the_null_sender(
    world: OutboundWorld,
) -> None:
    world.remote.rcpt_reply = lambda a: (550, "5.1.1 no such user")
    await world.enqueue(["bob@remote.test"], sender="frank@remote.test")
    await world.scheduler.run_once()
    [queued_bounce] = await world.store.queue.list()
    assert queued_bounce.sender == ""
    assert [r.address for r in queued_bounce.recipients] == ["frank@remote.test"]
    # Its own failure ends there: no bounce loop.
    report = await world.scheduler.run_once()
    assert (report.failed, report.bounces) == (1, 0)
    assert await world.store.queue.list() == []


async def test_notify_never_suppresses_the_bounce(world: OutboundWorld) -> None:
    world.remote.rcpt_reply = lambda a: (550, "5.1.1 no such user")
    await world.enqueue(["bob@remote.test"], notify=["NEVER"])
    assert (await world.scheduler.run_once()).bounces == 0
    assert await world.inbox() == []


async def test_message_over_the_remote_size_limit_bounces_without_data(
    world: OutboundWorld,
) -> None:
    world.remote.max_size = 1000
    await world.enqueue(["bob@remote.test"], message(body="x" * 2000))
    report = await world.scheduler.run_once()
    assert report.failed == 1
    assert not any(c.startswith("MAIL") for c in world.remote.commands)
    [bounce] = await world.inbox()
    assert _status(bounce)[0]["Status"] == "5.3.4"


async def test_smtputf8_address_fails_when_the_remote_lacks_smtputf8(
    world: OutboundWorld,
) -> None:
    world.remote.extensions = ("8BITMIME",)
    await world.enqueue(["jörg@remote.test"])
    assert (await world.scheduler.run_once()).failed == 1
    [bounce] = await world.inbox()
    assert _status(bounce)[0]["Status"] == "5.6.7"


async def test_smtputf8_address_is_sent_with_the_smtputf8_parameter(
    world: OutboundWorld,
) -> None:
    await world.enqueue(["jörg@remote.test"])
    assert (await world.scheduler.run_once()).delivered == 1
    [got] = world.remote.messages
    assert "SMTPUTF8" in got.mail_params
    assert got.recipients == ["jörg@remote.test"]


async def test_smarthost_with_auth_receives_everything(world: OutboundWorld) -> None:
    world.remote.auth = ("relayuser", "relay secret")
    scheduler = world.new_scheduler(
        smarthost=ListenAddress("127.0.0.1", world.remote.port),
        smarthost_user="relayuser", smarthost_password="relay secret",
        smarthost_tls=SmarthostTLS.NONE,
    )
    await world.enqueue(["x@no-such-domain.test", "bob@remote.test"])
    report = await scheduler.run_once()
    assert report.delivered == 2
    [got] = world.remote.messages
    assert sorted(got.recipients) == ["bob@remote.test", "x@no-such-domain.test"]
    assert not any(q[0] == "no-such-domain.test" for q in world.dns.queries)


async def test_unreachable_port_is_a_temporary_failure(world: OutboundWorld) -> None:
    scheduler = world.new_scheduler(mx_port=unused_port())
    await world.enqueue(["bob@remote.test"])
    report = await scheduler.run_once()
    assert (report.deferred, report.failed) == (1, 0)



async def test_broken_starttls_falls_back_to_plain_text(world: OutboundWorld) -> None:
    world.remote.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no certificate: handshake fails
    await world.enqueue(["bob@remote.test"])
    assert (await world.scheduler.run_once()).delivered == 1
    [got] = world.remote.messages
    assert not got.tls
    assert world.remote.connections == 2  # the failed TLS attempt, then plain text


class _StampStage:
    name = "stamp"

    async def process(self, message: OutboundMessage) -> bytes:
        return b"X-Stamp: queue-" + str(message.queue_id).encode() + b"\r\n" + message.content


async def test_outbound_stages_change_the_bytes_sent(world: OutboundWorld) -> None:
    raw = message("Stamped")
    queued = await world.enqueue(["bob@remote.test"], raw)
    world.scheduler.stages.append(_StampStage())
    await world.scheduler.run_once()
    [got] = world.remote.messages
    assert got.data == f"X-Stamp: queue-{queued.id}\r\n".encode() + raw


async def test_bounce_to_a_full_mailbox_is_dropped_and_the_failure_still_recorded(
    world: OutboundWorld, caplog: pytest.LogCaptureFixture
) -> None:
    await DirectoryAdmin(world.store.directory).add_user(
        "tiny@local.test", password="correct horse battery", quota_bytes=10)
    world.remote.rcpt_reply = lambda a: (550, "5.1.1 no such user")
    await world.enqueue(["bob@remote.test"], sender="tiny@local.test")
    report = await world.scheduler.run_once()
    assert report.failed == 1
    assert await world.inbox("tiny@local.test") == []
    assert await world.store.queue.list() == []
    assert "outbound.notice_dropped reason=not_stored" in caplog.text


async def test_an_unexpected_error_holds_the_message_instead_of_resending_at_once(
    world: OutboundWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = world.store.queue
    real_record = queue.record_attempt
    failures = iter([TemporaryFailure("database is locked")])

    async def flaky_record(*args: Any, **kwargs: Any) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        await real_record(*args, **kwargs)

    monkeypatch.setattr(queue, "record_attempt", flaky_record)
    await world.enqueue(["bob@remote.test"])
    with pytest.raises(TemporaryFailure):
        await world.scheduler.run_once()
    assert len(world.remote.messages) == 1
    assert (await world.scheduler.run_once()).attempted == 0  # held, not resent in a loop
    world.clock.advance(seconds=61)
    # Still leased to this node (the queue lease outlasts the one-minute hold).
    assert (await world.scheduler.run_once()).attempted == 0
    world.clock.advance(seconds=world.scheduler.settings.lease_seconds)
    assert (await world.scheduler.run_once()).delivered == 1
    assert len(world.remote.messages) == 2  # at-least-once: the record was lost once
