"""What the composition root hands to each protocol package: services, settings, TLS.

A protocol package exposes `def listeners(ctx: ServerContext) -> dict[str, Handler]`
(Handler from `tidings.net.listener`), and `tidings.server.PROTOCOLS` lists it.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.config import Settings
from tidings.store.services import Store

if TYPE_CHECKING:
    from tidings.directory.auth import Authenticator


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

    @property
    def hostname(self) -> str:
        return self.settings.server.hostname
