"""A byte stream over one TCP connection, with STARTTLS; what protocol drivers use."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Peer:
    host: str
    port: int


class StreamClosed(Exception):
    """The peer went away (or the connection was reset) while we were sending."""


class Stream:
    """Wraps an asyncio reader/writer pair; one per connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        listener: str,
        implicit_tls: bool = False,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.listener = listener
        self.is_tls = implicit_tls
        sockname = writer.get_extra_info("sockname") or ("", 0)
        peername = writer.get_extra_info("peername") or ("", 0)
        self.local = Peer(str(sockname[0]), int(sockname[1]))
        self.peer = Peer(str(peername[0]), int(peername[1]))

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Up to `max_bytes` bytes; b"" when the peer has closed."""
        try:
            return await self._reader.read(max_bytes)
        except (ConnectionError, ssl.SSLError):
            return b""

    async def send(self, data: bytes) -> None:
        """Write and wait for the transport buffer to drain. Raises StreamClosed."""
        if not data:
            return
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, ssl.SSLError, RuntimeError) as exc:
            raise StreamClosed(str(exc)) from exc

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade in place (STARTTLS/STLS). The caller must have discarded any
        bytes buffered before the upgrade (command injection, CVE-2011-0411)."""
        # Plaintext that arrived after the STARTTLS command but before the upgrade
        # must never be read as if it came over TLS (CVE-2011-0411): drop it.
        # asyncio exposes no public way to empty a StreamReader's buffer.
        pending = self._reader._buffer  # type: ignore[attr-defined]
        if pending:
            log.warning("net.starttls_discarded bytes=%d", len(pending))
            pending.clear()
        await self._writer.start_tls(context)
        self.is_tls = True

    @property
    def is_loopback(self) -> bool:
        return self.peer.host in ("127.0.0.1", "::1") or self.peer.host.startswith("127.")

    def abort(self) -> None:
        """Drop the connection at once: no flush, no TLS close_notify (shutdown, stuck peers)."""
        self._writer.transport.abort()

    async def close(self) -> None:
        if self._writer.is_closing():
            return
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass
