"""What the composition root hands to each protocol package: services, settings, TLS.

A protocol package exposes `def listeners(ctx: ServerContext) -> dict[str, Handler]`
(Handler from `tidings.net.listener`), and `tidings.server.PROTOCOLS` lists it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tidings.config import Settings
from tidings.store.services import Store

if TYPE_CHECKING:
    from tidings.delivery.limits import SenderRateLimit
    from tidings.directory.auth import Authenticator
    from tidings.net.worker_connections import WorkerConnections


log = logging.getLogger(__name__)


class EnqueueSignal:
    """Notified after a message is durably queued for remote recipients, so the
    outbound scheduler looks at the queue now rather than at its next poll."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._relays: list[Callable[[], None]] = []

    def connect(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def relay_to(self, relay: Callable[[], None]) -> None:
        """Also pass each local notification on (to the other worker processes,
        whose scheduler may be the one running)."""
        self._relays.append(relay)

    def notify(self) -> None:
        self.notify_local()
        for relay in self._relays:
            self._call(relay)

    def notify_local(self) -> None:
        """Wake this process's listeners only: for a notification that came from a
        relay, which must not echo it back."""
        for listener in self._listeners:
            self._call(listener)

    @staticmethod
    def _call(listener: Callable[[], None]) -> None:
        try:
            listener()
        except Exception:
            log.exception("queue.enqueue_listener_failed")


@dataclass(frozen=True, slots=True)
class ServerContext:
    settings: Settings
    store: Store
    authenticator: Authenticator
    # Server-side context for STARTTLS/STLS (RFC 3207, RFC 9051 §6.2.1, RFC 2595);
    # implicit-TLS listeners already got theirs from the listener.
    tls: ssl.SSLContext
    # Set when the server starts draining: long waits (IMAP IDLE, SMTP idle) should
    # say goodbye (`* BYE`, `421`) and return instead of holding the drain up.
    stopping: asyncio.Event
    # Submission and other producers notify; the outbound scheduler listens.
    enqueued: EnqueueSignal = field(default_factory=EnqueueSignal)
    # With `serve --workers`: the server-wide per-IP connection counts, and how to
    # make a sender rate limit server-wide (both over the peer bus). None alone.
    connections: WorkerConnections | None = None
    share_sender_rate: Callable[[SenderRateLimit], None] | None = None

    @property
    def hostname(self) -> str:
        return self.settings.server.hostname
