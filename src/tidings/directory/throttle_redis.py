"""A `FailureLog` in Redis, so every node of a cluster sees the same failures.

Each key is a sorted set of failure timestamps (score = time, member unique),
trimmed to the window on read and expiring with it.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tidings.directory.throttle import MAX_ENTRIES_PER_KEY
from tidings.model.errors import TemporaryFailure


class RedisFailureLog:
    """Failure timestamps in Redis sorted sets under `prefix`."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "tidings:authfail:") -> None:
        self.client = client
        self.prefix = prefix

    async def recent(self, key: str, since: float) -> Sequence[float]:
        name = self.prefix + key
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(name, "-inf", f"({since!r}")
                pipe.zrange(name, 0, -1, withscores=True)
                _, members = await pipe.execute()
        except RedisError as exc:
            raise TemporaryFailure("failure log unavailable") from exc
        return [float(score) for _, score in members]

    async def add(self, key: str, at: float, keep_seconds: float) -> None:
        name = self.prefix + key
        member = f"{at!r}:{secrets.token_hex(6)}"  # unique: two failures may share a time
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zadd(name, {member: at})
                pipe.zremrangebyrank(name, 0, -(MAX_ENTRIES_PER_KEY + 1))
                pipe.expire(name, max(1, math.ceil(keep_seconds)))
                await pipe.execute()
        except RedisError as exc:
            raise TemporaryFailure("failure log unavailable") from exc

    async def clear(self, key: str) -> None:
        try:
            await self.client.delete(self.prefix + key)
        except RedisError as exc:
            raise TemporaryFailure("failure log unavailable") from exc
