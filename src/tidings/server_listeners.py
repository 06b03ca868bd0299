"""Opening every listener of the server and draining them all; used by server.py."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Mapping

from starlette.routing import Mount

from tidings import metrics
from tidings.admin.service import build_admin_service
from tidings.calendar.scheduling import build_scheduler
from tidings.config import IMPLICIT_TLS_LISTENERS, ListenAddress
from tidings.context import ServerContext
from tidings.dav.router import routes as dav_routes
from tidings.metrics_workers import Scrape
from tidings.net.listener import Handler, Listener, ListenerConfig, as_endpoint
from tidings.net.tls import server_context
from tidings.web.api import api_mount
from tidings.web.app import HealthCheck, HTTPServer, create_app
from tidings.web.console import console_mount
from tidings.worker_slot import BACKLOG, Sockets

log = logging.getLogger(__name__)

HTTP_LISTENERS = frozenset({"http", "https"})


class StartupError(Exception):
    """The server cannot start (bind failure, bad TLS files); one line for the operator."""


class ServerListeners:
    """Opens every enabled listener that has a handler; drains them all on exit.

    With `sockets` (a worker of `serve --workers`), a listener accepts on the sockets
    bound for its name instead of binding its address; one without them is skipped.
    """

    def __init__(
        self,
        ctx: ServerContext,
        handlers: Mapping[str, Handler],
        health: HealthCheck,
        sockets: Sockets | None = None,
        scrape: Scrape | None = None,
    ) -> None:
        self.ctx = ctx
        self.health = health
        self.handlers = handlers
        self.sockets = sockets
        self.scrape = scrape  # /metrics over every worker; None: this process's registry
        self.tcp: list[Listener] = []
        self.http: list[HTTPServer] = []

    @property
    def addresses(self) -> dict[str, tuple[str, int]]:
        """Each open listener's bound (host, port): how tests learn port-0 choices."""
        found = {x.name: x.bound[0] for x in self.tcp if x.bound}
        found.update({h.name: h.bound for h in self.http})
        return found

    def summary(self) -> str:
        return ",".join(f"{n}@{port}" for n, (_, port) in self.addresses.items()) or "none"

    async def __aenter__(self) -> ServerListeners:
        try:
            await self._open_all()
        except BaseException:
            await self._drain(0.0)
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._drain(self.ctx.settings.limits.drain_seconds)

    async def _open_all(self) -> None:
        settings = self.ctx.settings
        limits = settings.limits
        for name, address in settings.enabled_listeners().items():
            handler = self.handlers.get(name)
            if handler is None and name not in HTTP_LISTENERS:
                log.info("listener.skipped name=%s reason=no_protocol_handler", name)
                continue
            if self.sockets is not None and name not in self.sockets:
                log.error("listener.skipped name=%s reason=not_bound_by_supervisor", name)
                continue
            if name in HTTP_LISTENERS:
                self._open_http(name, address)
                continue
            assert handler is not None
            listener = Listener(
                ListenerConfig(
                    name=name,
                    host=address.host,
                    port=address.port,
                    endpoint=as_endpoint(handler),
                    ssl=self.ctx.tls if name in IMPLICIT_TLS_LISTENERS else None,
                    max_connections=limits.max_connections_per_listener,
                    max_per_ip=limits.max_connections_per_ip,
                    address_counts=(
                        self.ctx.connections.for_listener(name)
                        if self.ctx.connections is not None else None
                    ),
                    proxy_trusted=self._proxy_networks(name),
                    sockets=tuple(self.sockets[name]) if self.sockets is not None else (),
                    backlog=BACKLOG if self.sockets is not None else 100,
                )
            )
            # Export zeros from the start, so dashboards see every listener.
            metrics.CONNECTIONS_ACTIVE.labels(name)
            metrics.SESSIONS_ACTIVE.labels(name)
            try:
                await listener.start()
            except OSError as exc:
                raise StartupError(f"listeners.{name}: cannot listen on {address}: {exc}") from None
            self.tcp.append(listener)

    def _proxy_networks(
        self, name: str
    ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
        proxy = self.ctx.settings.proxy_protocol
        if name not in proxy.listeners:
            return None
        return tuple(ipaddress.ip_network(n, strict=False) for n in proxy.trusted_networks)

    def _open_http(self, name: str, address: ListenAddress) -> None:
        settings = self.ctx.settings
        ssl_context = None
        if name == "https":
            tls = settings.tls
            ssl_context = server_context(tls.cert, tls.key, alpn=["http/1.1"])
        store, auth = self.ctx.store, self.ctx.authenticator
        scheduler = build_scheduler(store, self.ctx.enqueued.notify)
        dav = dav_routes(
            store.dav,
            store.directory,
            auth,
            allow_plaintext_on_loopback=settings.auth.allow_plaintext_on_loopback,
            scheduler=scheduler,
        )
        app = create_app(
            self.health, routes=[*self._admin_routes(), *dav], scrape=self.scrape
        )
        try:
            server = HTTPServer(
                app,
                name=name,
                host=address.host,
                port=address.port,
                ssl_context=ssl_context,
                idle_seconds=settings.limits.idle_timeout_seconds.http,
                sock=self.sockets[name][0] if self.sockets is not None else None,
                max_connections=settings.limits.max_connections_per_listener,
                grace_seconds=settings.limits.drain_seconds,
            )
        except OSError as exc:
            raise StartupError(f"listeners.{name}: cannot listen on {address}: {exc}") from None
        server.start()
        self.http.append(server)

    def _admin_routes(self) -> list[Mount]:
        """The admin REST API under /api (docs/admin-api.md) and the console under
        /admin (docs/admin-console.md), over one admin service."""
        service = build_admin_service(
            self.ctx.store, self.ctx.authenticator, hostname=self.ctx.hostname
        )
        return [api_mount(service), console_mount(service)]

    async def _drain(self, grace_seconds: float) -> None:
        self.ctx.stopping.set()
        for listener in self.tcp:
            listener.stop_accepting()
        results = await asyncio.gather(
            *(listener.drain(grace_seconds) for listener in self.tcp),
            *(server.stop() for server in self.http),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.error("listener.drain_failed error=%r", result)
