"""The Redis failure log against the Redis at 127.0.0.1:6379 (skipped if none runs)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tests.conftest import require_redis
from tidings.directory.throttle import MAX_ENTRIES_PER_KEY, Throttle, ThrottlePolicy
from tidings.directory.throttle_redis import RedisFailureLog
from tidings.model.errors import TemporaryFailure

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def failure_log() -> AsyncIterator[RedisFailureLog]:
    client = aioredis.Redis.from_url(require_redis())
    prefix = f"tidings-test:{secrets.token_hex(4)}:"
    yield RedisFailureLog(client, prefix=prefix)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_redis_log_returns_recent_failures_oldest_first(
    failure_log: RedisFailureLog,
) -> None:
    for at in (10.0, 20.0, 20.0, 30.0):
        await failure_log.add("acct:tim", at, 600)
    assert list(await failure_log.recent("acct:tim", 0)) == [10.0, 20.0, 20.0, 30.0]
    assert list(await failure_log.recent("acct:tim", 20.0)) == [20.0, 20.0, 30.0]
    # The read pruned what was older than asked.
    assert list(await failure_log.recent("acct:tim", 0)) == [20.0, 20.0, 30.0]


async def test_redis_log_clear_forgets_the_key(failure_log: RedisFailureLog) -> None:
    await failure_log.add("acct:tim", 1.0, 600)
    await failure_log.clear("acct:tim")
    assert list(await failure_log.recent("acct:tim", 0)) == []


async def test_redis_log_keys_expire_with_the_window(failure_log: RedisFailureLog) -> None:
    await failure_log.add("acct:tim", 1.0, 90.2)
    ttl = await failure_log.client.ttl(failure_log.prefix + "acct:tim")
    assert 85 <= ttl <= 91


async def test_redis_log_keeps_a_bounded_number_of_entries(failure_log: RedisFailureLog) -> None:
    for n in range(MAX_ENTRIES_PER_KEY + 5):
        await failure_log.add("ip:192.0.2.1", float(n), 600)
    recent = await failure_log.recent("ip:192.0.2.1", 0)
    assert len(recent) == MAX_ENTRIES_PER_KEY
    assert recent[-1] == float(MAX_ENTRIES_PER_KEY + 4)


async def test_throttle_over_redis_locks_after_the_limit(failure_log: RedisFailureLog) -> None:
    now = [1000.0]
    throttle = Throttle(
        failure_log,
        account_policy=ThrottlePolicy(max_failures=2, base_delay_seconds=5),
        clock=lambda: now[0],
    )
    await throttle.record_failure("tim", "192.0.2.1")
    await throttle.record_failure("tim", "192.0.2.1")
    verdict = await throttle.check("tim", "198.51.100.1")
    assert not verdict.allowed and verdict.retry_after == 5.0
    await throttle.record_success("tim", "192.0.2.1")
    assert (await throttle.check("tim", "198.51.100.1")).allowed


async def test_unreachable_redis_raises_temporary_failure() -> None:
    client = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    failure_log = RedisFailureLog(client)
    try:
        with pytest.raises(TemporaryFailure):
            await failure_log.recent("acct:tim", 0)
        with pytest.raises(TemporaryFailure):
            await failure_log.add("acct:tim", 0, 10)
        with pytest.raises(TemporaryFailure):
            await failure_log.clear("acct:tim")
    finally:
        await client.aclose()
