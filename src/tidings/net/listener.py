"""TCP listeners: accept loop, connection limits, implicit TLS and graceful drain.

Every accepted connection runs its protocol handler in a task of its own, tracked
by the listener like a TaskGroup, with a fresh logging session context (logctx).
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import socket
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from tidings import metrics
from tidings.logctx import bind_session, unbind
from tidings.net.proxy import ProxyHeaderError, read_proxy_header
from tidings.net.stream import Stream, StreamClosed

log = logging.getLogger(__name__)

HandlerFn = Callable[[Stream], Awaitable[None]]
RefuseFn = Callable[[Stream, "RefuseReason"], Awaitable[None]]

TLS_HANDSHAKE_SECONDS = 30.0
REFUSE_SECONDS = 5.0
CLOSE_SECONDS = 5.0
PROXY_HEADER_SECONDS = 10.0


class RefuseReason(enum.StrEnum):
    LISTENER_FULL = "listener_full"  # max_connections_per_listener reached
    ADDRESS_FULL = "address_full"  # max_connections_per_ip reached for this peer
    SHUTTING_DOWN = "shutting_down"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a protocol serves on a listener.

    `handle` runs one session and returns when it is over (the listener closes the
    stream). `refuse`, if given, may send the protocol's own busy reply (SMTP `421`,
    IMAP `* BYE`, POP3 `-ERR`) before the listener closes a connection over a limit.
    """

    handle: HandlerFn
    refuse: RefuseFn | None = None


Handler = HandlerFn | Endpoint


class AddressCounts(Protocol):
    """Open connections per client address (`address_key`) for one listener: this
    process's own (the default), or the whole server's with `serve --workers`
    (net/worker_connections.py)."""

    def count(self, key: str) -> int: ...
    def opened(self, key: str) -> None: ...
    def closed(self, key: str) -> None: ...


class LocalAddressCounts:
    """This process's connections only."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def count(self, key: str) -> int:
        return self._open[key]

    def opened(self, key: str) -> None:
        self._open[key] += 1

    def closed(self, key: str) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]


def as_endpoint(handler: Handler) -> Endpoint:
    return handler if isinstance(handler, Endpoint) else Endpoint(handle=handler)


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    name: str
    host: str
    port: int  # 0: any free port (tests)
    endpoint: Endpoint
    ssl: ssl.SSLContext | None = None  # set: implicit TLS (handshake before the handler)
    max_connections: int = 1000
    max_per_ip: int = 50
    # Set: connections must come from these networks and start with a PROXY header
    # (v1 or v2) naming the real client. Not with implicit TLS (see proxy_networks).
    proxy_trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None
    # Already bound and listening (by the supervisor of `serve --workers`, shared by
    # every worker): accept on these instead of binding host and port.
    sockets: tuple[socket.socket, ...] = ()
    backlog: int = 100
    # `max_per_ip` counts these; None: this listener's own connections.
    address_counts: AddressCounts | None = None

    def __post_init__(self) -> None:
        if self.proxy_trusted is not None and self.ssl is not None:
            # The proxy's ClientHello would already sit in our read buffer, out of
            # reach of the TLS layer; terminate TLS at the proxy instead.
            raise ValueError(f"{self.name}: PROXY protocol and implicit TLS do not mix")


def is_in(host: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def address_key(host: str) -> str:
    """Per-IP limits count an IPv6 peer by its /64: one host usually owns the prefix."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Listener:
    """One listening socket and the sessions it spawned."""

    def __init__(self, config: ListenerConfig) -> None:
        self.config = config
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._per_ip = config.address_counts or LocalAddressCounts()
        self._open = 0
        self._accepting = False

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def bound(self) -> list[tuple[str, int]]:
        """The (host, port) pairs actually bound, e.g. to learn a port-0 choice."""
        return [
            (str(s.getsockname()[0]), int(s.getsockname()[1]))
            for server in self._servers
            for s in server.sockets
        ]

    async def start(self) -> None:
        """Bind and start accepting. Raises OSError when the address cannot be bound."""
        cfg = self.config
        tls_timeout = TLS_HANDSHAKE_SECONDS if cfg.ssl else None
        if cfg.sockets:
            for sock in cfg.sockets:
                self._servers.append(await asyncio.start_server(
                    self._on_connect, sock=sock, ssl=cfg.ssl,
                    ssl_handshake_timeout=tls_timeout, backlog=cfg.backlog,
                ))
        else:
            self._servers.append(await asyncio.start_server(
                self._on_connect, host=cfg.host, port=cfg.port, ssl=cfg.ssl,
                ssl_handshake_timeout=tls_timeout, reuse_address=True, backlog=cfg.backlog,
            ))
        self._accepting = True
        for host, port in self.bound:
            log.info(
                "listener.started name=%s host=%s port=%d tls=%s",
                cfg.name,
                host,
                port,
                "implicit" if cfg.ssl else "no",
            )

    def stop_accepting(self) -> None:
        """Close the listening socket; running sessions go on."""
        self._accepting = False
        for server in self._servers:
            server.close()

    async def drain(self, grace_seconds: float) -> int:
        """Stop accepting, wait up to `grace_seconds` for sessions, cancel the rest.

        Returns how many sessions had to be cancelled.
        """
        self.stop_accepting()
        pending: set[asyncio.Task[None]] = set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("listener.cancelled name=%s sessions=%d", self.name, len(pending))
            await asyncio.wait(pending, timeout=CLOSE_SECONDS + 1)
        for server in self._servers:
            try:
                async with asyncio.timeout(CLOSE_SECONDS):
                    await server.wait_closed()
            except TimeoutError:
                log.warning("listener.close_timeout name=%s", self.name)
        log.info("listener.stopped name=%s", self.name)
        return len(pending)

    def _refusal(self, key: str) -> RefuseReason | None:
        if not self._accepting:
            return RefuseReason.SHUTTING_DOWN
        if self._open > self.config.max_connections:
            return RefuseReason.LISTENER_FULL
        if self._per_ip.count(key) >= self.config.max_per_ip:
            return RefuseReason.ADDRESS_FULL
        return None

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._connection(reader, writer)
        except asyncio.CancelledError:
            # Only drain cancels these tasks, and nothing awaits them. Ending normally
            # matters on 3.11: asyncio's stream callback calls task.exception(), which
            # raises on a cancelled task and logs a spurious error.
            pass

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._open += 1
        tls = self.config.ssl is not None
        stream = Stream(reader, writer, listener=self.name, implicit_tls=tls)
        metrics.CONNECTIONS_ACCEPTED.labels(self.name).inc()
        metrics.CONNECTIONS_ACTIVE.labels(self.name).inc()
        token = None
        try:
            if not await self._proxied(stream, reader):
                return
            token = bind_session(self.name, f"{stream.peer.host}:{stream.peer.port}")
            key = address_key(stream.peer.host)
            reason = self._refusal(key)
            if reason is not None:
                await self._refuse(stream, reason)
            else:
                self._per_ip.opened(key)
                try:
                    await self._run_session(stream)
                finally:
                    self._per_ip.closed(key)
        finally:
            await _close(stream)
            self._open -= 1
            metrics.CONNECTIONS_ACTIVE.labels(self.name).dec()
            self._tasks.discard(task)
            if token is not None:
                unbind(token)

    async def _proxied(self, stream: Stream, reader: asyncio.StreamReader) -> bool:
        """With PROXY protocol on: check the proxy, read its header, adopt the client."""
        trusted = self.config.proxy_trusted
        if trusted is None:
            return True
        try:
            if not is_in(stream.peer.host, trusted):
                raise ProxyHeaderError("the peer is not a trusted proxy")
            async with asyncio.timeout(PROXY_HEADER_SECONDS):
                client = await read_proxy_header(reader)
        except (ProxyHeaderError, TimeoutError) as exc:
            metrics.CONNECTIONS_REFUSED.labels(self.name, "proxy_header").inc()
            log.warning(
                "connection.proxy_rejected listener=%s peer=%s reason=%r",
                self.name,
                stream.peer.host,
                str(exc) or "timeout",
            )
            return False
        if client is not None:
            stream.peer = client
        return True

    async def _run_session(self, stream: Stream) -> None:
        started = time.monotonic()
        log.info("session.start listener=%s tls=%s", self.name, stream.is_tls)
        metrics.SESSIONS_ACTIVE.labels(self.name).inc()
        outcome = "closed"
        try:
            await self.config.endpoint.handle(stream)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except StreamClosed:
            outcome = "peer_gone"
        except Exception:
            outcome = "crashed"
            metrics.SESSION_ERRORS.labels(self.name).inc()
            log.exception("session.crashed listener=%s", self.name)
        finally:
            metrics.SESSIONS_ACTIVE.labels(self.name).dec()
            log.info("session.end outcome=%s seconds=%.3f", outcome, time.monotonic() - started)

    async def _refuse(self, stream: Stream, reason: RefuseReason) -> None:
        metrics.CONNECTIONS_REFUSED.labels(self.name, reason.value).inc()
        log.warning("connection.refused listener=%s reason=%s", self.name, reason.value)
        refuse = self.config.endpoint.refuse
        if refuse is None:
            return
        try:
            async with asyncio.timeout(REFUSE_SECONDS):
                await refuse(stream, reason)
        except (TimeoutError, StreamClosed):
            pass
        except Exception:
            log.exception("connection.refuse_failed listener=%s", self.name)


async def _close(stream: Stream) -> None:
    """Close politely, but never let a stuck peer hold the task (or a drain) forever."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await stream.close()
    except TimeoutError:
        stream.abort()
    except asyncio.CancelledError:
        stream.abort()
        raise
