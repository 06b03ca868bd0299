"""asyncio glue for IMAP: read, feed, dispatch, write; STARTTLS (RFC 9051 §6.2.1),
COMPRESS=DEFLATE (RFC 4978) and the autologout timer (RFC 9051 §5.4).

`listeners(ctx)` is what `tidings.server` registers: handlers for "imap" and "imaps".
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import zlib
from collections.abc import Mapping

from tidings.context import ServerContext
from tidings.imap import commands_model as m
from tidings.imap.commands import IMAPCommands, Services
from tidings.imap.framing import Limits
from tidings.imap.parser import NEED_DATA, Malformed
from tidings.imap.responses import Tagged, Untagged
from tidings.imap.session import IMAPSession, Reply, Settings
from tidings.logctx import current_session_id
from tidings.net.listener import Endpoint, Handler, RefuseReason
from tidings.net.stream import Stream, StreamClosed

log = logging.getLogger(__name__)

IDLE_TIMEOUT_SECONDS = 1800.0  # RFC 9051 §5.4: at least 30 minutes
COMMANDS_PER_SECOND = 200.0  # sustained; a burst of COMMAND_BURST is free
COMMAND_BURST = 400.0


class CommandRate:
    """A token bucket: a client over the rate is slowed down, not cut off."""

    def __init__(self, rate: float = COMMANDS_PER_SECOND, burst: float = COMMAND_BURST) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def delay(self) -> float:
        """Seconds to wait before running the next command (0 when within the rate)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Connection:
    """A Stream plus optional DEFLATE in both directions; implements the command
    layer's Channel (send, read_line)."""

    def __init__(self, stream: Stream, session: IMAPSession, timeout: float) -> None:
        self.stream = stream
        self.session = session
        self.timeout = timeout
        self.rate = CommandRate()
        self._inflate: zlib._Decompress | None = None
        self._deflate: zlib._Compress | None = None

    async def send(self, data: bytes) -> None:
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        await self.stream.send(data)

    async def receive(self) -> bytes:
        """Decompressed bytes from the peer; b"" at end. Raises TimeoutError."""
        async with asyncio.timeout(self.timeout):
            while True:
                data = await self.stream.receive()
                if not data or self._inflate is None:
                    return data
                plain = self._inflate.decompress(data)
                if plain:
                    return plain

    def start_compression(self) -> None:
        self._inflate = zlib.decompressobj(wbits=-15)
        self._deflate = zlib.compressobj(wbits=-15)
        pending = self.session.parser.take_buffer()
        if pending:
            self.session.receive_data(self._inflate.decompress(pending))

    async def read_line(self, mode: str) -> m.IdleDone | m.SASLResponse | Malformed | None:
        parser = self.session.parser
        parser.expect_line(mode)
        while True:
            event = parser.next_event()
            if event is not NEED_DATA:
                assert isinstance(event, m.IdleDone | m.SASLResponse | Malformed)
                return event
            # IDLE may last the whole autologout period (RFC 2177 §3: re-issue within 29 min).
            data = await self.receive()
            if not data:
                return None
            parser.receive_data(data)


async def serve(stream: Stream, session: IMAPSession, commands: IMAPCommands, *,
                tls_context: ssl.SSLContext | None = None,
                idle_seconds: float = IDLE_TIMEOUT_SECONDS) -> None:
    """Run one IMAP session until LOGOUT, disconnect or autologout."""
    conn = Connection(stream, session, idle_seconds)
    log.info("imap.session_started session=%s peer=%s tls=%s", session.session_id,
             stream.peer.host, stream.is_tls)
    try:
        await conn.send(session.greeting())
        while not session.closed:
            if not await _step(conn, session, commands, tls_context):
                break
    except StreamClosed:
        pass
    except TimeoutError:
        await _send_quietly(conn, Untagged("BYE", "Autologout; idle for too long").encode())
    finally:
        log.info("imap.session_ended session=%s", session.session_id)


async def _step(conn: Connection, session: IMAPSession, commands: IMAPCommands,
                tls_context: ssl.SSLContext | None) -> bool:
    step = session.next_step()
    if step is NEED_DATA:
        data = await conn.receive()
        if not data:
            return False
        session.receive_data(data)
    elif isinstance(step, Reply):
        await conn.send(step.data)
    elif isinstance(step, m.StartTLS):
        await _start_tls(conn, session, step, tls_context)
    elif isinstance(step, m.Compress):
        await conn.send(Tagged(step.tag, "OK", "DEFLATE active").encode())
        conn.start_compression()
        session.compression_started()
    else:
        assert isinstance(step, m.Command)
        pause = conn.rate.delay()
        if pause:
            await asyncio.sleep(pause)
        try:
            await commands.run(session, step, conn, conn.stream.peer.host)
        except (StreamClosed, ConnectionResetError):
            return False
        except Exception:
            log.exception("imap.command_crashed session=%s command=%s", session.session_id,
                          type(step).__name__)
            await _send_quietly(conn, Tagged(step.tag, "NO", "Internal error; please retry")
                                .encode() + Untagged("BYE", "Internal error").encode())
            return False
    return True


async def _start_tls(conn: Connection, session: IMAPSession, command: m.StartTLS,
                     tls_context: ssl.SSLContext | None) -> None:
    if tls_context is None:
        await conn.send(Tagged(command.tag, "NO", "TLS is not configured").encode())
        return
    await conn.send(Tagged(command.tag, "OK", "Begin TLS negotiation now").encode())
    # Bytes pipelined after STARTTLS came in plaintext: drop them (CVE-2011-0411 class).
    session.parser.take_buffer()
    await conn.stream.start_tls(tls_context)
    session.tls_started()


async def _send_quietly(conn: Connection, data: bytes) -> None:
    try:
        await conn.send(data)
    except StreamClosed:
        pass


def listeners(ctx: ServerContext) -> Mapping[str, Handler]:
    """Handlers for the "imap" (STARTTLS) and "imaps" (implicit TLS) listeners."""
    settings = ctx.settings
    store = ctx.store
    services = Services(store.mail, store.directory, store.blobs, store.notifier,
                        ctx.authenticator, ctx.stopping)
    commands = IMAPCommands(services)
    limits = Limits(max_line=settings.limits.max_line_bytes,
                    max_literal=settings.limits.max_message_bytes)
    timeout = settings.limits.idle_timeout_seconds.imap

    async def handle(stream: Stream) -> None:
        plaintext = settings.auth.allow_plaintext_on_loopback and stream.is_loopback
        session = IMAPSession(Settings(plaintext_ok=plaintext, limits=limits),
                              tls=stream.is_tls, session_id=current_session_id() or "")
        await serve(stream, session, commands, tls_context=ctx.tls, idle_seconds=timeout)

    async def refuse(stream: Stream, reason: RefuseReason) -> None:
        await stream.send(Untagged("BYE", "Too many connections; try again later").encode())

    endpoint = Endpoint(handle=handle, refuse=refuse)
    return {"imap": endpoint, "imaps": endpoint}
