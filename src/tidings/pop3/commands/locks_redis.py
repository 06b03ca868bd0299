"""Maildrop locks in Redis, so two nodes cannot both open one maildrop (RFC 1939 §8).

`SET key holder NX PX ttl` takes the lock; a task renews the expiry while the
session lives; release deletes the key only if it still holds our value. A node
that dies loses its locks when the expiry runs out, so no maildrop stays locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tidings.model.errors import TemporaryFailure
from tidings.model.ids import AccountId

log = logging.getLogger(__name__)

# Compare-and-act scripts: only the holder may extend or delete its lock.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class RedisMaildropLocks:
    """`MaildropLocks` shared by every node through one Redis."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl_seconds: float = 120.0,
        prefix: str = "tidings:pop3:lock:",
    ) -> None:
        self.client = client
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.prefix = prefix
        self._renewers: dict[tuple[AccountId, str], asyncio.Task[None]] = {}

    async def acquire(self, account: AccountId, holder: str) -> bool:
        """Raises TemporaryFailure when Redis cannot be reached."""
        key = f"{self.prefix}{account}"
        try:
            taken = await self.client.set(key, holder, nx=True, px=self.ttl_ms)
        except RedisError as exc:
            raise TemporaryFailure("maildrop lock service unavailable") from exc
        if not taken:
            log.info("pop3.lock_busy account=%s", account)
            return False
        task = asyncio.create_task(self._renew(key, holder))
        self._renewers[(account, holder)] = task
        return True

    async def release(self, account: AccountId, holder: str) -> None:
        task = self._renewers.pop((account, holder), None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await self._eval(_RELEASE, f"{self.prefix}{account}", holder)
        except RedisError as exc:
            # The expiry frees it soon enough; the session is over either way.
            log.warning("pop3.lock_release_failed account=%s error=%s", account, type(exc).__name__)

    async def _eval(self, script: str, key: str, *args: str) -> None:
        # redis-py types eval() for both its sync and async clients.
        await cast(Awaitable[object], self.client.eval(script, 1, key, *args))

    async def _renew(self, key: str, holder: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                await self._eval(_RENEW, key, holder, str(self.ttl_ms))
            except RedisError as exc:
                log.warning("pop3.lock_renew_failed error=%s", type(exc).__name__)
