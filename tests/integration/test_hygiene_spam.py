"""Spam scoring on a real MX: explanation headers, Junk filing, SMTP-time rejection,
quarantine, safe and blocked senders, blocked attachments (smtplib + the store)."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_hygiene_spam_env import (
    ALICE,
    BOB,
    SpamEnv,
    spam_settings,
    start_spam_env,
)
from tests.unit.hygiene.spam.fake_clamd import EICAR, fake_clamd
from tests.unit.hygiene.spam.messages import GTUBE, plain, with_attachment, zip_of
from tidings.mime.headers import find_body_start, parse_headers
from tidings.model.ids import AccountId

SHOUTY = plain(subject="LIMITED OFFER FOR YOU", date=None, message_id=None,
               body="Claim at http://192.0.2.9/claim\r\n")  # 1 + 1 + 1.5 + 2 = 5.5


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpamEnv]:
    async for opened in start_spam_env(tmp_path):
        yield opened


def header(raw: bytes, name: str) -> str:
    return parse_headers(raw, 0, find_body_start(raw)[0]).get(name) or ""


async def send(env: SpamEnv, raw: bytes, **kwargs: str) -> None:
    await asyncio.to_thread(env.send, raw, **kwargs)


async def rejected(env: SpamEnv, raw: bytes, **kwargs: str) -> smtplib.SMTPDataError:
    with pytest.raises(smtplib.SMTPDataError) as caught:
        await send(env, raw, **kwargs)
    return caught.value


async def test_a_clean_message_reaches_the_inbox_with_its_explanation(env: SpamEnv) -> None:
    await send(env, plain())
    [raw] = await env.folder(ALICE, "INBOX")
    assert header(raw, "X-Tidings-Spam-Flag") == "NO"
    assert header(raw, "X-Tidings-Spam-Score") == "0"
    assert "action=deliver" in header(raw, "X-Tidings-Spam-Report")


async def test_gtube_is_rejected_at_data_time_with_the_score(env: SpamEnv) -> None:
    error = await rejected(env, plain(body=f"{GTUBE}\r\n"))
    text = error.smtp_error.decode()
    assert error.smtp_code == 550 and text.startswith("5.7.1")
    assert "1000" in text and "GTUBE" in text
    assert await env.folder(ALICE, "INBOX") == []


async def test_a_score_over_the_junk_threshold_files_into_junk_and_says_why(
    env: SpamEnv,
) -> None:
    await send(env, SHOUTY)
    assert await env.folder(ALICE, "INBOX") == []
    [raw] = await env.folder(ALICE, "Junk")
    assert header(raw, "X-Tidings-Spam-Flag") == "YES"
    assert header(raw, "X-Tidings-Spam-Score") == "5.5"
    report = header(raw, "X-Tidings-Spam-Report")
    for rule in ("MISSING_DATE", "MISSING_MESSAGE_ID", "SUBJECT_ALL_CAPS", "URL_IP_LITERAL"):
        assert rule in report


async def test_forged_spam_headers_from_outside_are_replaced(env: SpamEnv) -> None:
    await send(env, plain(extra="X-Tidings-Spam-Flag: NO\r\nX-Tidings-Spam-Score: -100\r\n"))
    [raw] = await env.folder(ALICE, "INBOX")
    fields = parse_headers(raw, 0, find_body_start(raw)[0])
    assert fields.get_all("X-Tidings-Spam-Score") == ["0"]


async def test_store_rule_weights_move_a_message_into_quarantine(env: SpamEnv) -> None:
    await env.store.spam.set_rule_weight("SUBJECT_ALL_CAPS", 6.0)  # 5.5 - 1.5 + 6 = 10
    await send(env, SHOUTY)
    assert await env.folder(ALICE, "INBOX") == [] and await env.folder(ALICE, "Junk") == []
    [entry] = await env.store.quarantine.list()
    assert entry.held.reason == "spam" and entry.held.score == 10.0
    assert entry.held.recipients == (ALICE,)
    assert "SUBJECT_ALL_CAPS=+6" in entry.held.report


async def test_a_safe_sender_is_delivered_even_with_gtube(env: SpamEnv) -> None:
    alice = AccountId(env.users[ALICE].id)
    await env.store.spam.add_sender(alice, "remote.example", "safe")
    await send(env, plain(body=f"{GTUBE}\r\n"), sender="carol@remote.example")
    [raw] = await env.folder(ALICE, "INBOX")
    assert "(safe sender)" in header(raw, "X-Tidings-Spam-Report")


async def test_a_blocked_sender_goes_to_junk_for_that_user_only(env: SpamEnv) -> None:
    bob = AccountId(env.users[BOB].id)
    await env.store.spam.add_sender(bob, "carol@example.test", "blocked")
    await send(env, plain(), to=BOB)
    await send(env, plain(), to=ALICE)
    [junked] = await env.folder(BOB, "Junk")
    assert "(blocked sender)" in header(junked, "X-Tidings-Spam-Report")
    assert len(await env.folder(ALICE, "INBOX")) == 1


async def test_an_executable_inside_a_zip_is_refused(env: SpamEnv) -> None:
    raw = with_attachment("statement.zip", zip_of({"statement.pdf.exe": b"MZ\x90"}))
    error = await rejected(env, raw)
    assert error.smtp_code == 550
    assert b"Blocked attachment type" in error.smtp_error
    assert b"statement.zip/statement.pdf.exe" in error.smtp_error


async def test_a_virus_is_refused_with_554_and_clamd_down_fails_open(tmp_path: Path) -> None:
    async with fake_clamd() as fake:
        settings = spam_settings(tmp_path)
        settings = dataclasses.replace(settings, antivirus=dataclasses.replace(
            settings.antivirus, clamd=f"tcp:127.0.0.1:{fake.port}"))
        async for env in start_spam_env(tmp_path, settings):
            # The fake finds the plain string; real clamd decodes attachments itself.
            error = await rejected(env, plain(body=EICAR.decode() + "\r\n"))
            assert error.smtp_code == 554
            assert error.smtp_error.startswith(b"5.7.1")
            fake_port = fake.port
    # The fake is gone: clamd is down, and on_error = "accept" lets mail through.
    down = dataclasses.replace(settings, antivirus=dataclasses.replace(
        settings.antivirus, clamd=f"tcp:127.0.0.1:{fake_port}", timeout_seconds=2))
    (tmp_path / "down").mkdir()
    async for env in start_spam_env(tmp_path / "down", down):
        await send(env, plain())
        assert len(await env.folder(ALICE, "INBOX")) == 1
