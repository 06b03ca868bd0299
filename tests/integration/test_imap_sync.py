"""Concurrent sessions stay consistent: IDLE wake-ups, expunge reporting points, and
CONDSTORE/QRESYNC resynchronisation (RFC 9051 §7.5.1, RFC 2177, RFC 7162)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.test_imap_support import (
    IMAPEnv,
    RawClient,
    ca,
    joined,
    message,
    start_env,
)

__all__ = ["ca"]


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[IMAPEnv]:
    async for value in start_env(tmp_path, ca):
        yield value


async def test_idle_wakes_within_a_second_of_a_delivery(env: IMAPEnv) -> None:
    client = await RawClient.open(env)
    await client.ok("SELECT INBOX")
    await client.send(b"i1 IDLE\r\n")
    assert (await client.read_response_line()).startswith(b"+ ")
    started = time.monotonic()
    await env.deliver(message("while idling"))
    line = await client.read_response_line()
    assert line == b"* 1 EXISTS\r\n"
    assert time.monotonic() - started < 1.0
    await client.send(b"DONE\r\n")
    lines = await client.until_tagged("i1")
    assert lines[-1].startswith(b"i1 OK")
    await client.close()


async def test_expunge_from_another_session_waits_for_an_allowed_point(env: IMAPEnv) -> None:
    for n in range(3):
        await env.deliver(message(f"m{n}"))
    watcher = await RawClient.open(env)
    actor = await RawClient.open(env)
    await watcher.ok("SELECT INBOX")
    await actor.ok("SELECT INBOX")
    await actor.ok("STORE 2 +FLAGS (\\Deleted)")
    await actor.ok("EXPUNGE")
    # RFC 9051 §7.5.1: no EXPUNGE during FETCH; the numbering stays as the client knows it.
    fetched = joined(await watcher.ok("FETCH 1:3 (UID)"))
    assert b"EXPUNGE" not in fetched
    assert b"* 3 FETCH (UID 3)" in fetched
    noop = joined(await watcher.ok("NOOP"))
    assert b"* 2 EXPUNGE" in noop
    after = joined(await watcher.ok("FETCH 1:* (UID)"))
    assert b"* 2 FETCH (UID 3)" in after
    await watcher.close()
    await actor.close()


async def test_flag_change_by_another_session_is_reported(env: IMAPEnv) -> None:
    await env.deliver(message("flag me"))
    watcher = await RawClient.open(env)
    actor = await RawClient.open(env)
    await watcher.ok("SELECT INBOX")
    await actor.ok("SELECT INBOX")
    await actor.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    noop = joined(await watcher.ok("NOOP"))
    # The watcher selected first, so the message is \Recent there (RFC 3501 §2.3.2).
    assert re.search(rb"\* 1 FETCH \(FLAGS \(\\Flagged \\Recent\)\)", noop), noop
    await watcher.close()
    await actor.close()


async def test_condstore_changedsince_and_unchangedsince(env: IMAPEnv) -> None:
    await env.deliver(message("one"))
    await env.deliver(message("two"))
    client = await RawClient.open(env)
    selected = joined(await client.ok("SELECT INBOX (CONDSTORE)"))
    highest = int(re.search(rb"HIGHESTMODSEQ (\d+)", selected).group(1))  # type: ignore[union-attr]
    other = await RawClient.open(env)
    await other.ok("SELECT INBOX")
    await other.ok("STORE 2 +FLAGS (\\Seen)")
    changed = joined(await client.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})"))
    assert b"* 2 FETCH" in changed and b"* 1 FETCH (FLAGS" not in changed
    assert re.search(rb"MODSEQ \(\d+\)", changed)
    stale = joined(await client.command(f"STORE 2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Flagged)"))
    assert b"[MODIFIED 2]" in stale
    await client.close()
    await other.close()


async def test_qresync_reports_vanished_and_changed_messages(env: IMAPEnv) -> None:
    for n in range(4):
        await env.deliver(message(f"q{n}"))
    first = await RawClient.open(env)
    await first.ok("ENABLE QRESYNC")
    selected = joined(await first.ok("SELECT INBOX"))
    validity = re.search(rb"UIDVALIDITY (\d+)", selected).group(1)  # type: ignore[union-attr]
    highest = re.search(rb"HIGHESTMODSEQ (\d+)", selected).group(1)  # type: ignore[union-attr]
    await first.ok("LOGOUT")
    other = await RawClient.open(env)
    await other.ok("SELECT INBOX")
    await other.ok("UID STORE 3 +FLAGS (\\Deleted)")
    await other.ok("UID EXPUNGE 3")
    await other.ok("UID STORE 1 +FLAGS (\\Answered)")
    again = await RawClient.open(env)
    await again.ok("ENABLE QRESYNC")
    resync = joined(await again.ok(
        f"SELECT INBOX (QRESYNC ({validity.decode()} {highest.decode()} 1:4))"))
    assert b"* VANISHED (EARLIER) 3" in resync
    assert re.search(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)", resync)
    assert b"UID 2 " not in resync
    # A live QRESYNC session hears of expunges as VANISHED.
    await other.ok("UID STORE 2 +FLAGS (\\Deleted)")
    await other.ok("EXPUNGE")
    assert b"* VANISHED 2" in joined(await again.ok("NOOP"))
    await again.close()
    await other.close()


async def test_two_idle_sessions_both_hear_a_delivery(env: IMAPEnv) -> None:
    clients = [await RawClient.open(env) for _ in range(2)]
    for client in clients:
        await client.ok("SELECT INBOX")
        await client.send(b"i IDLE\r\n")
        await client.read_response_line()
    await env.deliver(message("for everyone"))
    lines = await asyncio.gather(*(c.read_response_line() for c in clients))
    assert lines == [b"* 1 EXISTS\r\n", b"* 1 EXISTS\r\n"]
    for client in clients:
        await client.send(b"DONE\r\n")
        await client.until_tagged("i")
        await client.close()


async def test_idle_wakes_on_an_smtp_delivery(env: IMAPEnv) -> None:
    import smtplib

    from tests.integration.test_imap_support import ALICE, in_thread

    client = await RawClient.open(env)
    await client.ok("SELECT INBOX")
    await client.send(b"i1 IDLE\r\n")
    assert (await client.read_response_line()).startswith(b"+ ")

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as smtp:
            smtp.sendmail("carol@elsewhere.test", [ALICE], message("by smtp"))

    await in_thread(send)
    started = time.monotonic()
    line = await client.read_response_line()
    assert line == b"* 1 EXISTS\r\n"
    assert time.monotonic() - started < 1.0
    await client.send(b"DONE\r\n")
    await client.until_tagged("i1")
    fetched = joined(await client.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert b"Subject: by smtp" in fetched
    await client.close()
