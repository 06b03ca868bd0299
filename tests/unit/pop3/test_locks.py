"""Maildrop locks: in-process, and in Redis for several nodes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.conftest import require_redis
from tidings.model.ids import AccountId
from tidings.pop3.commands.locks import LocalMaildropLocks
from tidings.pop3.commands.locks_redis import RedisMaildropLocks

ACCOUNT = AccountId(42)


async def test_local_lock_is_exclusive_and_only_its_holder_releases_it() -> None:
    locks = LocalMaildropLocks()
    assert await locks.acquire(ACCOUNT, "a")
    assert not await locks.acquire(ACCOUNT, "b")
    await locks.release(ACCOUNT, "b")  # not the holder: no effect
    assert locks.is_locked(ACCOUNT)
    await locks.release(ACCOUNT, "a")
    assert await locks.acquire(ACCOUNT, "b")


@pytest.fixture
async def clients() -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis, str]]:
    require_redis()
    one, two = aioredis.Redis(host="127.0.0.1"), aioredis.Redis(host="127.0.0.1")
    prefix = f"tidings-test:{secrets.token_hex(4)}:"
    try:
        yield one, two, prefix
    finally:
        await one.delete(f"{prefix}{ACCOUNT}")
        await one.aclose()
        await two.aclose()


async def test_redis_lock_excludes_another_node_until_released(
    clients: tuple[aioredis.Redis, aioredis.Redis, str],
) -> None:
    one, two, prefix = clients
    node_a = RedisMaildropLocks(one, prefix=prefix)
    node_b = RedisMaildropLocks(two, prefix=prefix)
    assert await node_a.acquire(ACCOUNT, "session-a")
    assert not await node_b.acquire(ACCOUNT, "session-b")
    await node_b.release(ACCOUNT, "session-b")
    await node_a.release(ACCOUNT, "session-a")
    assert await node_b.acquire(ACCOUNT, "session-b")
    await node_b.release(ACCOUNT, "session-b")


async def test_redis_lock_is_renewed_while_held_and_expires_after_a_crash(
    clients: tuple[aioredis.Redis, aioredis.Redis, str],
) -> None:
    one, two, prefix = clients
    node_a = RedisMaildropLocks(one, prefix=prefix, ttl_seconds=0.3)
    node_b = RedisMaildropLocks(two, prefix=prefix, ttl_seconds=0.3)
    assert await node_a.acquire(ACCOUNT, "session-a")
    await asyncio.sleep(0.7)  # past the TTL: only renewal keeps it
    assert not await node_b.acquire(ACCOUNT, "session-b")
    for task in node_a._renewers.values():  # node A "dies": no renewal, no release
        task.cancel()
    await asyncio.sleep(0.5)
    assert await node_b.acquire(ACCOUNT, "session-b")
    await node_b.release(ACCOUNT, "session-b")
