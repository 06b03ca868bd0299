"""Learning through any protocol: a user moves messages into Junk over IMAP (imaplib
MOVE against the real server), the learner reads the change log, and similar new mail
scores higher; moving them back out lowers it again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_hygiene_spam import SHOUTY
from tests.integration.test_hygiene_spam_env import (
    ALICE,
    SpamEnv,
    spam_settings,
    start_spam_env,
)
from tests.unit.hygiene.spam.messages import plain
from tidings.hygiene.spam.learner import SpamLearner
from tidings.mime.headers import find_body_start, parse_headers

PITCH = ("Genuine replica watches, luxury rolex and omega at discount prices. "
         "Wholesale offer, free shipping, order today from our exclusive catalogue")


def pitch(n: int) -> bytes:
    return plain(subject=f"Exclusive watches offer {n}", body=f"{PITCH} number {n}.\r\n",
                 sender="deals@watches.example", message_id=f"<w{n}@watches.example>")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpamEnv]:
    settings = spam_settings(tmp_path, bayes_min_spam=0, bayes_min_ham=0)
    async for opened in start_spam_env(tmp_path, settings):
        yield opened


def fields(raw: bytes) -> tuple[float, str]:
    headers = parse_headers(raw, 0, find_body_start(raw)[0])
    return float(headers.get("X-Tidings-Spam-Score") or "nan"), headers.get(
        "X-Tidings-Spam-Report") or ""


async def probe(env: SpamEnv, n: int) -> tuple[float, str]:
    """Deliver one more similar message; its score and report (then drop it)."""
    await asyncio.to_thread(env.send, pitch(n), ALICE, "deals@watches.example")
    for folder in ("INBOX", "Junk"):
        for raw in await env.folder(ALICE, folder):
            if f"<w{n}@watches.example>".encode() in raw:
                return fields(raw)
    raise AssertionError("the probe was not delivered")


def move_all(env: SpamEnv, source: str, target: str, subject: str) -> int:
    client = env.imap()
    try:
        client.select(source)
        status, found = client.uid("SEARCH", "SUBJECT", subject)
        uids = found[0].decode().split()
        assert status == "OK" and uids
        status, _ = client.uid("MOVE", ",".join(uids), target)
        assert status == "OK"
        return len(uids)
    finally:
        client.logout()


async def test_moving_into_junk_raises_similar_scores_and_moving_out_lowers_them(
    env: SpamEnv,
) -> None:
    learner = SpamLearner(env.store.spam, env.store.blobs)
    assert await learner.run_once() == 0  # deliveries alone teach nothing
    before, _ = await probe(env, 0)
    for n in range(1, 7):
        await asyncio.to_thread(env.send, pitch(n), ALICE, "deals@watches.example")
    assert await asyncio.to_thread(move_all, env, "INBOX", "Junk", "Exclusive") == 7
    assert await learner.run_once() == 7
    spammy, report = await probe(env, 8)
    assert spammy > before
    assert "BAYES_99" in report

    assert await asyncio.to_thread(move_all, env, "Junk", "INBOX", "Exclusive") >= 7
    assert await learner.run_once() >= 7  # retrained as ham
    hammy, report = await probe(env, 9)
    assert hammy < spammy
    assert "BAYES_00" in report
    stats = await env.store.spam.stats(0)
    assert stats.spam_messages == 0 and stats.ham_messages >= 7


async def test_the_background_learner_follows_moves_without_being_asked(
    env: SpamEnv,
) -> None:
    stopping = asyncio.Event()
    learner = SpamLearner(env.store.spam, env.store.blobs, poll_seconds=0.05)
    task = asyncio.create_task(learner.run(stopping))
    try:
        for n in range(1, 4):
            await asyncio.to_thread(env.send, pitch(n), ALICE, "deals@watches.example")
        await asyncio.to_thread(move_all, env, "INBOX", "Junk", "Exclusive")
        for _ in range(200):  # the learner polls every 50 ms; give it 10 s
            if (await env.store.spam.stats(0)).spam_messages >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        stopping.set()
        await task
    assert learner.learned == 3


async def test_our_own_junk_filing_is_not_learned_but_a_users_move_back_is(
    env: SpamEnv,
) -> None:
    learner = SpamLearner(env.store.spam, env.store.blobs)
    await asyncio.to_thread(env.send, SHOUTY)  # scores 5.5: filed into Junk by the stage
    assert len(await env.folder(ALICE, "Junk")) == 1
    assert await learner.run_once() == 0
    await asyncio.to_thread(move_all, env, "Junk", "INBOX", "LIMITED")
    assert await learner.run_once() == 1
    assert (await env.store.spam.stats(0)).ham_messages == 1
    await asyncio.to_thread(move_all, env, "INBOX", "Junk", "LIMITED")
    assert await learner.run_once() == 1
    stats = await env.store.spam.stats(0)
    assert (stats.spam_messages, stats.ham_messages) == (1, 0)
