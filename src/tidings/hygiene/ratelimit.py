"""Per-IP and per-sender rate limits for the MX: token buckets (a burst, then a steady
rate), in this process or in Redis so every node shares them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from tidings.delivery.stages import Accept, EnvelopeInput, Reject, TempFail

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

MAX_BUCKETS = 100_000


class Buckets(Protocol):
    async def take(self, key: str, rate_per_second: float, burst: float) -> bool:
        """Take one token from `key`'s bucket; False when it is empty."""
        ...


class MemoryBuckets:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    async def take(self, key: str, rate_per_second: float, burst: float) -> bool:
        now = self.clock()
        tokens, updated = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - updated) * rate_per_second)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        if key not in self._buckets and len(self._buckets) >= MAX_BUCKETS:
            self._buckets.pop(next(iter(self._buckets)))  # forget the oldest key
        self._buckets[key] = (tokens, now)
        return allowed


# Refill and take in one atomic step on the Redis server.
_TAKE = """
local data = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(data[1]) or burst
local updated = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return allowed
"""


class RedisBuckets:
    PREFIX = "tidings:ratelimit:"

    def __init__(self, client: aioredis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self._script = client.register_script(_TAKE)

    async def take(self, key: str, rate_per_second: float, burst: float) -> bool:
        allowed = await self._script(
            keys=[self.PREFIX + key], args=[rate_per_second, burst, self.clock()]
        )
        return bool(int(allowed))


class RateLimitStage:
    """Counts each transaction (at its first RCPT) against the client IP and the sender."""

    name = "ratelimit"

    def __init__(self, buckets: Buckets, *, per_ip_per_minute: float = 0.0,
                 per_sender_per_minute: float = 0.0) -> None:
        self.buckets = buckets
        self.per_ip = per_ip_per_minute
        self.per_sender = per_sender_per_minute

    async def check(self, envelope: EnvelopeInput) -> Accept | Reject | TempFail:
        if not envelope.first_recipient:
            return Accept()
        if self.per_ip > 0 and not await self.buckets.take(
                "ip:" + envelope.peer_ip, self.per_ip / 60.0, max(1.0, self.per_ip)):
            log.info("hygiene.rate_limited kind=ip")
            return TempFail("Too many messages from your address; slow down and try later",
                            "4.7.1", 451)
        sender = envelope.sender.lower()
        if self.per_sender > 0 and sender and not await self.buckets.take(
                "sender:" + sender, self.per_sender / 60.0, max(1.0, self.per_sender)):
            log.info("hygiene.rate_limited kind=sender")
            return TempFail("Too many messages from this sender; slow down and try later",
                            "4.7.1", 451)
        return Accept()
