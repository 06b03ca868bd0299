"""Change notifiers: wake IDLE, push and Ping sessions when an account's modseq moves.

The change log itself is the `changes` table (written by `store.sql.accounts`); a
notifier only says "account A is now at modseq M". `LocalNotifier` serves one
process; `RedisNotifier` also fans out to every node through Redis pub/sub.
Notifications are hints: subscribers re-read the log, so a lost one costs latency,
never data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from tidings.model.ids import AccountId, ModSeq

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "tidings:account:"


class Subscription:
    """One subscriber's view of an account: an async iterator of new highest modseqs.

    Registered from construction on, so no publish between `subscribe()` and the
    first `__anext__` is lost. Bursts coalesce: a slow reader gets only the newest
    modseq. Close with `aclose()` (or `async with`) to unsubscribe.
    """

    def __init__(self, hub: _Hub, account: AccountId) -> None:
        self._hub = hub
        self.account = account
        self._latest = 0
        self._delivered = 0
        self._event = asyncio.Event()
        self.closed = False

    def _offer(self, modseq: int) -> None:
        if modseq > self._latest:
            self._latest = modseq
            self._event.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> ModSeq:
        while not self.closed:
            if self._latest > self._delivered:
                self._delivered = self._latest
                self._event.clear()
                return ModSeq(self._latest)
            await self._event.wait()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Unsubscribe; a reader blocked in `__anext__` ends its iteration."""
        if not self.closed:
            self.closed = True
            self._hub.remove(self)
            self._event.set()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Hub:
    """Account -> live subscriptions of this process."""

    def __init__(self) -> None:
        self._subscribers: dict[AccountId, set[Subscription]] = {}

    def add(self, account: AccountId) -> Subscription:
        subscription = Subscription(self, account)
        self._subscribers.setdefault(account, set()).add(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.account)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.account]

    def deliver(self, account: AccountId, modseq: ModSeq) -> None:
        for subscription in list(self._subscribers.get(account, ())):
            subscription._offer(modseq)

    def count(self, account: AccountId) -> int:
        return len(self._subscribers.get(account, ()))


class LocalNotifier:
    """In-process notifier; `publish` is synchronous (called from `tx.after_commit`)."""

    def __init__(self) -> None:
        self._hub = _Hub()

    def publish(self, account: AccountId, modseq: ModSeq) -> None:
        self._hub.deliver(account, modseq)

    def subscribe(self, account: AccountId) -> Subscription:
        return self._hub.add(account)

    def subscriber_count(self, account: AccountId) -> int:
        return self._hub.count(account)

    async def close(self) -> None:
        """Nothing to release; present so every notifier closes the same way."""


class RedisNotifier:
    """Local delivery plus Redis pub/sub on `tidings:account:{id}` for the other nodes.

    Messages are `"{node}:{modseq}"`; a node ignores its own (already delivered
    locally). The listener task starts on the first `subscribe` or `publish` and
    reconnects with back-off; while Redis is down, local delivery still works.
    """

    def __init__(self, url: str, *, reconnect_seconds: float = 1.0) -> None:
        import redis.asyncio as redis_asyncio

        self._redis: Any = redis_asyncio.from_url(url)
        self._hub = _Hub()
        self._node = uuid.uuid4().hex
        self._reconnect_seconds = reconnect_seconds
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()
        self._closed = False

    def publish(self, account: AccountId, modseq: ModSeq) -> None:
        self._hub.deliver(account, modseq)
        if self._closed:
            return
        self._ensure_listener()
        task = asyncio.get_running_loop().create_task(self._send(account, modseq))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def subscribe(self, account: AccountId) -> Subscription:
        self._ensure_listener()
        return self._hub.add(account)

    async def wait_ready(self) -> None:
        """Wait until the pub/sub connection listens (tests; start-up health);
        bound it with `asyncio.timeout`."""
        self._ensure_listener()
        await self._ready.wait()

    async def close(self) -> None:
        self._closed = True
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._redis.aclose()

    def _ensure_listener(self) -> None:
        if self._listener is None and not self._closed:
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="tidings-redis-notifier"
            )

    async def _send(self, account: AccountId, modseq: ModSeq) -> None:
        try:
            await self._redis.publish(f"{CHANNEL_PREFIX}{account}", f"{self._node}:{modseq}")
        except Exception as exc:  # a lost hint only delays other nodes' sessions
            log.warning("notifier.redis_publish_failed account=%d error=%s", account, exc)

    async def _listen(self) -> None:
        while not self._closed:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._ready.clear()
                log.warning("notifier.redis_listen_failed error=%s", exc)
                await asyncio.sleep(self._reconnect_seconds)

    async def _listen_once(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
            self._ready.set()
            async for message in _messages(pubsub):
                self._dispatch(message)
        finally:
            await pubsub.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "pmessage":
            return
        channel = _text(message.get("channel"))
        node, _, modseq = _text(message.get("data")).partition(":")
        if node == self._node or not channel.startswith(CHANNEL_PREFIX):
            return
        try:
            account = AccountId(int(channel[len(CHANNEL_PREFIX) :]))
            value = ModSeq(int(modseq))
        except ValueError:
            log.warning("notifier.redis_bad_message channel=%s", channel)
            return
        self._hub.deliver(account, value)


async def _messages(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
    async for message in pubsub.listen():
        yield message


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value) if value is not None else ""


__all__ = ["CHANNEL_PREFIX", "LocalNotifier", "RedisNotifier", "Subscription"]
