"""Composition root: builds the services, opens every listener, drains on a signal.

The one place where store, directory, protocols and web are wired together.
With `--workers N` a supervisor (server_workers.py) forks N processes that each run
`run()` on the sockets it bound; worker 0 alone runs the singleton tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, cast

from tidings.config import LISTENER_NAMES, Durability, ListenAddress, Settings, default_settings
from tidings.context import ServerContext
from tidings.delivery.limits import SenderRateLimit
from tidings.delivery.outbound import run_outbound
from tidings.directory.auth import Authenticator
from tidings.directory.login_cache import LoginCache
from tidings.directory.throttle import FailureLog, Throttle, ThrottlePolicy
from tidings.hygiene.outbound import outbound_stages
from tidings.hygiene.spam.wiring import build_learner
from tidings.imap.server import listeners as imap_listeners
from tidings.logging_setup import setup_logging
from tidings.maintenance import run_maintenance
from tidings.metrics import REGISTRY
from tidings.metrics_workers import WorkerMetrics
from tidings.model.errors import TemporaryFailure
from tidings.net.listener import Handler
from tidings.net.tls import TLSError, generate_self_signed, server_context
from tidings.net.worker_connections import WorkerConnections
from tidings.pop3.server import listeners as pop3_listeners
from tidings.server_listeners import ServerListeners, StartupError
from tidings.smtp.server import listeners as smtp_listeners
from tidings.store.peers import PeerBus
from tidings.store.services import Store
from tidings.store_settings import open_configured_store
from tidings.web.app import HealthCheck
from tidings.worker_slot import WorkerSlot, tag_logs

log = logging.getLogger(__name__)

ProtocolListeners = Callable[[ServerContext], Mapping[str, Handler]]

# Each protocol package adds ONE entry here (and its import above):
#     from tidings.smtp.server import listeners as smtp_listeners
#     PROTOCOLS = (smtp_listeners, ...)
# Its function returns handlers by listener name, e.g. {"smtp": h, "submission": h2,
# "submissions": h2}; implicit-TLS names get the TLS handshake from the listener.
PROTOCOLS: tuple[ProtocolListeners, ...] = (smtp_listeners, imap_listeners, pop3_listeners)
# ... and its names here: the listeners `serve --workers` binds before forking (the
# supervisor builds no handlers). A unit test checks it against PROTOCOLS.
SERVED_LISTENERS = frozenset(
    {"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https"}
)

__all__ = [
    "PROTOCOLS",
    "SERVED_LISTENERS",
    "RunningServer",
    "StartupError",
    "loopback_settings",
    "run",
    "running",
]


class _Pingable(Protocol):
    async def ping(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RunningServer:
    ctx: ServerContext
    addresses: Mapping[str, tuple[str, int]]  # listener name -> bound (host, port)

    def stop(self) -> None:
        """Ask the server to drain (as SIGTERM does)."""
        self.ctx.stopping.set()


def collect_handlers(
    ctx: ServerContext, protocols: tuple[ProtocolListeners, ...] = PROTOCOLS
) -> dict[str, Handler]:
    """Ask every protocol package for its handlers; two claiming one name is a bug."""
    handlers: dict[str, Handler] = {}
    for listeners in protocols:
        for name, handler in listeners(ctx).items():
            if name in handlers:
                raise StartupError(f"listener {name} is claimed by two protocol packages")
            handlers[name] = handler
    return handlers


def load_tls(settings: Settings) -> ssl.SSLContext:
    """The server TLS context; makes a self-signed certificate if none exists yet."""
    cert, key = settings.tls.cert, settings.tls.key
    if not cert.exists() and not key.exists():
        log.warning("tls.missing cert=%s action=generate_self_signed", cert)
        generate_self_signed(settings.server.hostname, cert, key)
    try:
        return server_context(cert, key)
    except TLSError as exc:
        raise StartupError(str(exc)) from None


def health_check(store: _Pingable) -> HealthCheck:
    """/healthz: the store must answer a trivial query."""

    async def check() -> None:
        if not await store.ping():
            raise TemporaryFailure("store did not answer")

    return check


def build_authenticator(
    settings: Settings, store: Store, stack: contextlib.AsyncExitStack
) -> Authenticator:
    """The directory's Authenticator with the [auth] throttle thresholds.

    With [redis] url set, failures are counted in Redis so every node sees them.
    """
    auth = settings.auth
    failure_log: FailureLog | None = None
    if settings.redis.url is not None:
        import redis.asyncio as aioredis

        from tidings.directory.throttle_redis import RedisFailureLog

        client = aioredis.from_url(settings.redis.url)
        stack.push_async_callback(client.aclose)
        failure_log = RedisFailureLog(client)
    window = auth.failure_window_seconds
    throttle = Throttle(
        failure_log,
        account_policy=ThrottlePolicy(
            max_failures=auth.max_failures_per_user,
            window_seconds=window,
            max_delay_seconds=auth.max_failure_delay_seconds,
        ),
        ip_policy=ThrottlePolicy(
            max_failures=auth.max_failures_per_ip,
            window_seconds=window,
            base_delay_seconds=1.0,
            max_delay_seconds=auth.max_failure_delay_seconds,
        ),
    )
    return Authenticator(store.directory, throttle, logins=LoginCache())


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    protocols: tuple[ProtocolListeners, ...] | None = None,
    stopping: asyncio.Event | None = None,
    worker: WorkerSlot | None = None,
) -> AsyncIterator[RunningServer]:
    """Open the store and every listener; on exit drain the sessions and close all.

    Integration tests use this in-process with `loopback_settings`. A `worker` of
    `serve --workers` serves its inherited sockets and talks to its peers.
    Raises StartupError (bind failure, unreadable TLS files).
    """
    async with contextlib.AsyncExitStack() as stack:
        peers = _open_peers(worker)
        if peers is not None:
            stack.callback(peers.close)
        worker_metrics = await _open_worker_metrics(worker)
        if worker_metrics is not None:
            stack.push_async_callback(worker_metrics.close)
        # The supervisor migrated the store before forking the workers.
        store = await open_configured_store(settings, peers=peers, migrate=worker is None)
        stack.push_async_callback(store.close)
        # Store declares plain (hence invariant) attributes, and SQLStore's are the
        # concrete service classes; mypy rejects that even though it conforms.
        services = cast(Store, store)
        ctx = ServerContext(
            settings=settings,
            store=services,
            authenticator=build_authenticator(settings, services, stack),
            tls=load_tls(settings),
            stopping=stopping or asyncio.Event(),
            connections=share_connections(peers) if peers is not None else None,
            share_sender_rate=(
                functools.partial(share_sender_rate, peers) if peers is not None else None
            ),
        )
        if peers is not None:
            # A message queued here may be for worker 0's scheduler, and one queued
            # elsewhere for ours.
            ctx.enqueued.relay_to(peers.enqueued)
            peers.on_enqueued = ctx.enqueued.notify_local
        handlers = collect_handlers(ctx, PROTOCOLS if protocols is None else protocols)
        if peers is not None:
            # Every limit is wired (build_servers shares the sender rate): ask the
            # others for their counts, and make them drop our predecessor's.
            peers.announce()
        opened = await stack.enter_async_context(
            ServerListeners(
                ctx,
                handlers,
                health_check(store),
                worker.sockets if worker is not None else None,
                scrape=worker_metrics.scrape if worker_metrics is not None else None,
            )
        )
        log.info("server.ready hostname=%s listeners=%s", ctx.hostname, opened.summary())
        yield RunningServer(ctx, opened.addresses)
        log.info("server.stopping grace_seconds=%g", settings.limits.drain_seconds)
    log.info("server.stopped")


def _open_peers(worker: WorkerSlot | None) -> PeerBus | None:
    """This worker's hint channel to the others (store/peers.py); None alone."""
    if worker is None or worker.count < 2:
        return None
    peers = PeerBus(worker.run_dir, worker.index, worker.count)
    try:
        peers.start()
    except (OSError, ValueError) as exc:
        raise StartupError(f"worker {worker.index}: cannot open its peer socket: {exc}") from None
    return peers


async def _open_worker_metrics(worker: WorkerSlot | None) -> WorkerMetrics | None:
    """This worker's metrics socket, so /metrics in any worker shows them all; None
    alone (the registry is the whole server then)."""
    if worker is None or worker.count < 2:
        return None
    worker_metrics = WorkerMetrics(worker.run_dir, worker.index, worker.count, REGISTRY)
    try:
        await worker_metrics.start()
    except OSError as exc:
        raise StartupError(
            f"worker {worker.index}: cannot open its metrics socket: {exc}"
        ) from None
    return worker_metrics


def share_connections(peers: PeerBus) -> WorkerConnections:
    """`max_connections_per_ip` over every worker: report ours, count theirs."""
    connections = WorkerConnections(peers.connections_changed)
    peers.on_connections = connections.peer_changed
    peers.on_connections_reset = connections.peer_reset
    peers.connection_counts = connections.own
    return connections


def share_sender_rate(peers: PeerBus, rate: SenderRateLimit) -> None:
    """`max_messages_per_sender_per_hour` over every worker: each worker's windows
    hold every worker's accepted messages."""
    rate.relay = peers.sender_accepted
    peers.on_sender = rate.count_elsewhere
    peers.on_sender_window = rate.adopt
    peers.sender_windows = rate.windows


async def run(
    settings: Settings,
    *,
    listen_overrides: Mapping[str, ListenAddress | None] | None = None,
    worker: WorkerSlot | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then drain sessions and return.

    As a `worker` of `serve --workers`, only worker 0 runs the singleton tasks
    (outbound delivery, spam learning, maintenance); the others serve listeners.
    """
    settings = settings.with_listeners(listen_overrides or {})
    setup_logging(settings.logging.level, settings.logging.format.value)
    if worker is not None:
        tag_logs(str(worker.index))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, sig, stopping)
    if worker is not None:
        # The supervisor forks with these blocked, so a stop that came before the
        # handlers were in place is delivered now instead of being lost.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        async with running(settings, stopping=stopping, worker=worker) as server:
            if worker is None or worker.runs_singletons:
                await _run_singletons(server, settings, stopping)
            else:
                await stopping.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _run_singletons(
    server: RunningServer, settings: Settings, stopping: asyncio.Event
) -> None:
    """The background tasks one process of the server runs, until `stopping`."""
    # Only the real server delivers out; in-process test servers never
    # resolve or connect to remote hosts unless a test starts this itself.
    outbound = asyncio.create_task(
        run_outbound(server.ctx, stopping, stages=outbound_stages(settings)),
        name="outbound",
    )
    # The spam learner follows the change log (hygiene/spam/learner.py).
    learner = build_learner(settings, server.ctx.store)
    learning = (asyncio.create_task(learner.run(stopping), name="spam-learner")
                if learner is not None else None)
    maintenance = asyncio.create_task(
        run_maintenance(server.ctx.store, stopping), name="maintenance"
    )
    await stopping.wait()
    await outbound
    await maintenance
    if learning is not None:
        await learning


def _on_signal(sig: signal.Signals, stopping: asyncio.Event) -> None:
    log.info("server.signal name=%s", sig.name)
    stopping.set()


def serve(
    settings: Settings, *, listen_overrides: Mapping[str, ListenAddress | None] | None = None
) -> None:
    """Run the server in a new event loop (uvloop when installed) until it stops; with
    `[server] workers` above 1, as a supervisor of that many forked processes.
    Raises StartupError."""
    if settings.server.workers > 1:
        from tidings.server_workers import supervise

        supervise(settings.with_listeners(listen_overrides or {}))
        return
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(run(settings, listen_overrides=listen_overrides))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's when it is installed, else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def loopback_settings(data_dir: Path, *listeners: str, hostname: str = "localhost") -> Settings:
    """Defaults under `data_dir` with only the named listeners, on 127.0.0.1, port 0.

    For in-process tests: `async with running(loopback_settings(tmp, "imap")) as s:`
    then connect to `s.addresses["imap"]`. Durability "normal" keeps tests fast.
    """
    base = default_settings(data_dir, hostname)
    chosen: dict[str, ListenAddress | None] = {
        name: ListenAddress("127.0.0.1", 0) if name in listeners else None
        for name in LISTENER_NAMES
    }
    settings = base.with_listeners(chosen)
    return replace(settings, database=replace(settings.database, durability=Durability.NORMAL))
