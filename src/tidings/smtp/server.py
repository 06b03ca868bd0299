"""asyncio glue for SMTP: the driver loop (STYLE.md §2) over a `net.Stream`, STARTTLS,
idle timeouts, drain on shutdown, and the three listeners (smtp, submission,
submissions) the composition root opens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tidings.calendar.imip_stage import IMIPStage
from tidings.calendar.scheduling import build_scheduler
from tidings.delivery.inbound import InboundDelivery
from tidings.delivery.limits import SenderRateLimit
from tidings.delivery.recipients import RecipientResolver
from tidings.directory.sasl import SUPPORTED_MECHANISMS
from tidings.hygiene.spam.wiring import build_spam_stages
from tidings.hygiene.stages import build_stages as build_hygiene_stages
from tidings.logctx import current_session_id
from tidings.net.listener import Endpoint, Handler, RefuseReason
from tidings.net.stream import Stream, StreamClosed
from tidings.smtp import responses as r
from tidings.smtp.commands import SMTPCommands, SMTPServices
from tidings.smtp.data import BareLineEndings
from tidings.smtp.events import Accepted, BeginTLS, ListenerKind
from tidings.smtp.options import SessionConfig
from tidings.smtp.parser import NEED_DATA
from tidings.smtp.responses import Reply
from tidings.smtp.session import SMTPSession

if TYPE_CHECKING:
    from tidings.context import ServerContext

log = logging.getLogger(__name__)

TLS_HANDSHAKE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SMTPListenerConfig:
    """Everything one SMTP listener needs besides the services."""

    session: SessionConfig
    tls: ssl.SSLContext | None  # for STARTTLS; None: not offered
    idle_seconds: float = 300.0  # RFC 5321 §4.5.3.2.7


class SMTPServer:
    """Serves one listener flavour; `handle` runs one connection to its end."""

    def __init__(
        self, services: SMTPServices, config: SMTPListenerConfig,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.services = services
        self.config = config
        self.stopping = stopping or asyncio.Event()

    def endpoint(self) -> Endpoint:
        return Endpoint(handle=self.handle, refuse=self.refuse)

    async def refuse(self, stream: Stream, reason: RefuseReason) -> None:
        """Over a connection limit: say so the SMTP way (RFC 5321 §3.8: 421)."""
        reply = r.SHUTTING_DOWN if reason is RefuseReason.SHUTTING_DOWN else r.BUSY
        await stream.send(reply.encode())

    async def handle(self, stream: Stream) -> None:
        session_config = self.config.session
        if self.config.tls is None and session_config.tls_available:
            session_config = _without_starttls(session_config)
        session = SMTPSession(
            session_config, peer_host=stream.peer.host, tls=stream.is_tls,
            loopback=stream.is_loopback, session_id=current_session_id() or "",
        )
        commands = SMTPCommands(self.services, remote_ip=stream.peer.host)
        await _Driver(stream, session, commands, self.config, self.stopping).run()


def _without_starttls(config: SessionConfig) -> SessionConfig:
    return replace(config, tls_available=False)


class _Driver:
    """read, feed, dispatch, write; replies to pipelined commands go out together."""

    def __init__(
        self, stream: Stream, session: SMTPSession, commands: SMTPCommands,
        config: SMTPListenerConfig, stopping: asyncio.Event,
    ) -> None:
        self.stream = stream
        self.session = session
        self.commands = commands
        self.config = config
        self.stopping = stopping
        self.out = bytearray()
        self._reading: asyncio.Timeout | None = None  # while waiting for client bytes

    async def run(self) -> None:
        session = self.session
        self.out += session.greeting().encode()
        stop_task: asyncio.Future[Any] = asyncio.ensure_future(self.stopping.wait())
        stop_task.add_done_callback(self._interrupt_read)
        try:
            while not session.closed:
                step = session.next_step()
                if step is NEED_DATA:
                    if session.closed or not await self._receive(stop_task):
                        break
                elif isinstance(step, Reply):
                    self.out += step.encode()
                elif isinstance(step, BeginTLS):
                    if not await self._start_tls(step):
                        return
                else:
                    outcome = await self.commands.run(step)
                    self.out += session.complete(step, outcome).encode()
            await self._flush()
        finally:
            stop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stop_task

    async def _flush(self) -> None:
        if self.out:
            data, self.out = bytes(self.out), bytearray()
            await self.stream.send(data)

    def _interrupt_read(self, _stop_task: asyncio.Future[Any]) -> None:
        """Draining: a session waiting for the client's next command stops waiting now
        (one that is delivering a message finishes it first)."""
        if self._reading is not None:
            self._reading.reschedule(asyncio.get_running_loop().time())

    async def _receive(self, stop_task: asyncio.Future[Any]) -> bool:
        """Flush, then wait for bytes; False when the session must end (421 sent)."""
        await self._flush()
        data: bytes | None = None  # None: timed out or draining; b"": the client closed
        if not stop_task.done():
            # One timeout per read, no task: cheaper than asyncio.wait on two futures.
            try:
                async with asyncio.timeout(self.config.idle_seconds) as self._reading:
                    data = await self.stream.receive()
            except TimeoutError:
                pass
            finally:
                self._reading = None
        if data is None:
            stopping = stop_task.done()
            reply = r.SHUTTING_DOWN if stopping else r.TIMEOUT
            log.info("smtp.closing reason=%s", "shutdown" if stopping else "idle")
            with contextlib.suppress(StreamClosed):
                await self.stream.send(reply.encode())
            return False
        self.session.receive_data(data)
        return True

    async def _start_tls(self, step: BeginTLS) -> bool:
        tls = self.config.tls
        assert tls is not None  # the session offers STARTTLS only with a context
        self.out += self.session.complete(step, Accepted()).encode()
        await self._flush()
        try:
            async with asyncio.timeout(TLS_HANDSHAKE_SECONDS):
                await self.stream.start_tls(tls)
        except (TimeoutError, ssl.SSLError, ConnectionError, OSError) as exc:
            log.info("smtp.starttls_failed error=%s", type(exc).__name__)
            return False
        self.session.tls_established()
        log.info("smtp.starttls")
        return True


# --- the composition root's entry point ----------------------------------------------


def build_servers(
    ctx: ServerContext, *, max_messages_per_sender_per_hour: int | None = None
) -> dict[str, SMTPServer]:
    """One SMTPServer per listener flavour, sharing the services (and the rate limit);
    `max_messages_per_sender_per_hour` overrides `[smtp]` (tests)."""
    store = ctx.store
    settings = ctx.settings
    limits = settings.limits
    resolver = RecipientResolver(store.directory, store.mail)
    hygiene = build_hygiene_stages(settings, greylist=store.greylist)
    inbound = InboundDelivery(
        mail=store.mail, queue=store.queue, blobs=store.blobs, hostname=ctx.hostname,
        stages=[
            *hygiene.delivery, *build_spam_stages(settings, store),
            IMIPStage(build_scheduler(store, ctx.enqueued.notify)),  # RFC 6047 iMIP in
        ],
        on_enqueued=ctx.enqueued.notify,
    )
    smtp = settings.smtp
    per_hour = max_messages_per_sender_per_hour or smtp.max_messages_per_sender_per_hour
    rate = SenderRateLimit(per_hour) if per_hour else None
    if rate is not None and ctx.share_sender_rate is not None:
        ctx.share_sender_rate(rate)  # counted across the workers of `serve --workers`
    servers: dict[str, SMTPServer] = {}
    for kind in ListenerKind:
        services = SMTPServices(
            kind=kind, hostname=ctx.hostname, directory=store.directory, resolver=resolver,
            inbound=inbound,
            authenticator=ctx.authenticator if kind.is_submission else None,
            sender_rate=rate, postmaster=smtp.postmaster or None,
            envelope_stages=hygiene.envelope if kind is ListenerKind.MX else (),
        )
        session = SessionConfig(
            hostname=ctx.hostname,
            kind=kind,
            max_message_bytes=limits.max_message_bytes,
            max_recipients=limits.max_recipients,
            tls_available=kind is not ListenerKind.SUBMISSIONS,
            auth_mechanisms=SUPPORTED_MECHANISMS,
            allow_plaintext_auth_on_loopback=settings.auth.allow_plaintext_on_loopback,
            bare_line_endings=BareLineEndings(smtp.bare_line_endings.value),
        )
        config = SMTPListenerConfig(
            session, ctx.tls, idle_seconds=limits.idle_timeout_seconds.smtp
        )
        servers[kind.value] = SMTPServer(services, config, ctx.stopping)
    return servers


def listeners(ctx: ServerContext) -> dict[str, Handler]:
    """Handlers for the smtp, submission and submissions listeners (tidings.server)."""
    return {name: server.endpoint() for name, server in build_servers(ctx).items()}
