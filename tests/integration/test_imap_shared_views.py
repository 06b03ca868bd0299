"""Sessions over shared state: \\Recent goes to the first session (RFC 3501 §2.3.2),
sessions sharing a mailbox snapshot stay independent and consistent, incremental
refresh, cached ENVELOPE bytes and the LOGIN cache."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.test_imap_support import (
    PASSWORD,
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


async def test_recent_goes_to_the_first_session_that_selects(env: IMAPEnv) -> None:
    await env.deliver(message("one"))
    await env.deliver(message("two"))
    first, second = await RawClient.open(env), await RawClient.open(env)
    assert b"* 2 RECENT" in joined(await first.ok("SELECT INBOX"))
    assert b"* 0 RECENT" in joined(await second.ok("SELECT INBOX"))
    assert b"\\Recent" in joined(await first.ok("FETCH 1 FLAGS"))
    assert b"\\Recent" not in joined(await second.ok("FETCH 1 FLAGS"))
    assert b"* SEARCH 1 2" in joined(await first.ok("SEARCH RECENT"))
    assert b"* SEARCH\r\n" in joined(await second.ok("SEARCH RECENT"))
    await first.close()
    await second.close()


async def test_examine_sees_recent_without_taking_it(env: IMAPEnv) -> None:
    await env.deliver(message("look only"))
    looker, taker, late = [await RawClient.open(env) for _ in range(3)]
    assert b"* 1 RECENT" in joined(await looker.ok("EXAMINE INBOX"))
    assert b"* 1 RECENT" in joined(await taker.ok("SELECT INBOX"))
    assert b"* 0 RECENT" in joined(await late.ok("SELECT INBOX"))
    for client in (looker, taker, late):
        await client.close()


async def test_new_mail_is_recent_only_in_the_session_told_first(env: IMAPEnv) -> None:
    first, second = await RawClient.open(env), await RawClient.open(env)
    await first.ok("SELECT INBOX")
    await second.ok("SELECT INBOX")
    await env.deliver(message("arrives"))
    told_first = joined(await first.ok("NOOP"))
    assert b"* 1 EXISTS" in told_first and b"* 1 RECENT" in told_first
    told_second = joined(await second.ok("NOOP"))
    assert b"* 1 EXISTS" in told_second and b"* 0 RECENT" in told_second
    await first.close()
    await second.close()


async def test_status_recent_counts_what_a_select_would_claim(env: IMAPEnv) -> None:
    await env.deliver(message("first"))
    watcher, other = await RawClient.open(env), await RawClient.open(env)
    assert b"(RECENT 1)" in joined(await other.ok("STATUS INBOX (RECENT)"))
    assert b"* 1 RECENT" in joined(await watcher.ok("SELECT INBOX"))  # claims it
    await env.deliver(message("second"))
    assert b"(MESSAGES 2 RECENT 1)" in joined(await other.ok("STATUS INBOX (MESSAGES RECENT)"))
    await watcher.ok("NOOP")  # told first: claims the second one too
    assert b"(RECENT 0)" in joined(await other.ok("STATUS INBOX (RECENT)"))
    await watcher.close()
    await other.close()


async def test_rev2_sessions_never_see_recent(env: IMAPEnv) -> None:
    await env.deliver(message("modern"))
    client = await RawClient.open(env)
    await client.ok("ENABLE IMAP4rev2")
    assert b"RECENT" not in joined(await client.ok("SELECT INBOX"))
    assert b"\\Recent" not in joined(await client.ok("FETCH 1 FLAGS"))
    await client.close()


async def test_sessions_sharing_a_snapshot_stay_consistent(env: IMAPEnv) -> None:
    for n in range(4):
        await env.deliver(message(f"shared {n}"))
    actor, watcher = await RawClient.open(env), await RawClient.open(env)
    await actor.ok("SELECT INBOX")
    await watcher.ok("SELECT INBOX")
    await actor.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    await actor.ok("STORE 3 +FLAGS.SILENT (\\Flagged)")
    assert b"* 2 EXPUNGE" in joined(await actor.ok("EXPUNGE"))
    # During FETCH the expunge is held back (sequence numbers stay), flags are not.
    fetched = joined(await watcher.ok("FETCH 3 (UID)"))
    assert b"* 3 FETCH (UID 3)" in fetched and b"EXPUNGE" not in fetched
    assert re.search(rb"\* 3 FETCH \(FLAGS \(\\Flagged", fetched), fetched
    assert b"* 2 EXPUNGE" in joined(await watcher.ok("NOOP"))
    # A session opened now starts from the shared snapshot plus the changes since.
    late = await RawClient.open(env)
    selected = joined(await late.ok("SELECT INBOX"))
    assert b"* 3 EXISTS" in selected
    listed = joined(await late.ok("FETCH 1:* (UID FLAGS)"))
    assert re.findall(rb"UID (\d+)", listed) == [b"1", b"3", b"4"]
    assert re.search(rb"UID 3 FLAGS \(\\Flagged\)", listed), listed
    for client in (actor, watcher, late):
        await client.close()


async def test_envelope_from_the_cache_is_the_parsed_one(env: IMAPEnv) -> None:
    await env.deliver(message("=?utf-8?q?caf=C3=A9?= envelope", sender="d@example.test"))
    client = await RawClient.open(env)
    await client.ok("SELECT INBOX")
    parsed = joined(await client.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE)"))
    cached = joined(await client.ok("FETCH 1 ENVELOPE"))
    envelope = re.search(rb"ENVELOPE (\(.*?\)\)\)?)", cached)
    assert envelope is not None
    assert envelope.group(1) in parsed
    assert b'"=?utf-8?q?caf=C3=A9?= envelope"' in cached
    assert b'"d" "example.test"' in cached
    await client.close()


async def test_login_cache_never_accepts_another_password(env: IMAPEnv) -> None:
    good = await RawClient.open(env)  # verified and cached
    await good.close()
    wrong = await RawClient.open(env, user=None)
    reply = joined(await wrong.command(f'LOGIN alice@example.test "{PASSWORD}x"'))
    assert b" NO " in reply
    again = await RawClient.open(env)  # the right one still works
    await again.close()
    await wrong.close()


async def test_esort_returns_esearch_in_sort_order(env: IMAPEnv) -> None:
    for subject in ("charlie", "alpha", "bravo", "delta"):
        await env.deliver(message(subject))
    client = await RawClient.open(env)
    assert b"ESORT" in joined(await client.ok("CAPABILITY"))
    await client.ok("SELECT INBOX")
    assert b"* SORT 2 3 1 4" in joined(await client.ok("SORT (SUBJECT) UTF-8 ALL"))
    lines = await client.ok("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
    tag = lines[-1].split()[0].decode()
    assert f'* ESEARCH (TAG "{tag}") MIN 2 MAX 4 ALL 2:3,1,4 COUNT 4'.encode() in joined(lines)
    lines = await client.ok("UID SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL")
    tag = lines[-1].split()[0].decode()
    assert f'* ESEARCH (TAG "{tag}") UID ALL 4,1,3,2'.encode() in joined(lines)
    bad = await client.command("SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL")
    assert b" BAD " in bad[-1]
    await client.close()


async def test_authenticate_plain_with_initial_response_uses_the_login_cache(
    env: IMAPEnv, caplog: pytest.LogCaptureFixture
) -> None:
    def plain(authzid: str, password: str) -> str:
        raw = f"{authzid}\0alice@example.test\0{password}".encode()
        return "AUTHENTICATE PLAIN " + base64.b64encode(raw).decode()

    caplog.set_level(logging.INFO, logger="tidings.directory.auth")
    first = await RawClient.open(env, user=None)
    await first.ok(plain("", PASSWORD))
    assert "cached=yes" not in caplog.text
    second = await RawClient.open(env, user=None)
    await second.ok(plain("alice@example.test", PASSWORD))
    assert "cached=yes" in caplog.text
    wrong = await RawClient.open(env, user=None)
    assert b" NO " in (await wrong.command(plain("", PASSWORD + "x")))[-1]
    for client in (first, second, wrong):
        await client.close()
