"""The HTTP application: health and metrics now; protocol routers mount here later.

`create_app` builds the Starlette app; `HTTPServer` runs it with uvicorn inside the
server's own event loop on a socket we bind (so bind errors are ours to report).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Generator, Sequence

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tidings.metrics import REGISTRY

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[None]]  # returns when healthy, raises otherwise
HEALTH_TIMEOUT_SECONDS = 5.0


def create_app(
    health_check: HealthCheck,
    *,
    registry: CollectorRegistry = REGISTRY,
    routes: Sequence[BaseRoute] = (),
    scrape: Callable[[], Awaitable[bytes]] | None = None,
) -> Starlette:
    """The ASGI app with /healthz, /metrics and any extra routes (protocol routers).

    `scrape`, when given (a worker of `serve --workers`), makes the /metrics body:
    every worker's metrics (metrics_workers.py) instead of `registry` alone.
    """

    async def healthz(request: Request) -> Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                await health_check()
        except Exception as exc:
            log.warning("web.health_failed error=%s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, 503)
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        body = generate_latest(registry) if scrape is None else await scrape()
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET"]),
            *routes,
        ]
    )


class _EmbeddedServer(uvicorn.Server):
    """Uvicorn that leaves signals to the Tidings server (it drains everything at once)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HTTPServer:
    """One uvicorn server on one bound socket, run as a task in the current loop."""

    def __init__(
        self,
        app: Starlette,
        *,
        name: str,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        idle_seconds: float = 75.0,
        max_connections: int | None = None,
        grace_seconds: float = 10.0,
        sock: socket.socket | None = None,  # already listening (`serve --workers`)
    ) -> None:
        self.name = name
        self._sock = sock if sock is not None else _bind(host, port)
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=int(idle_seconds),
            timeout_graceful_shutdown=int(grace_seconds),
            limit_concurrency=max_connections,
        )
        config.load()
        # Our context (TLS 1.2+, our options) rather than uvicorn's from file names.
        config.ssl = ssl_context
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        host_, port_ = self._sock.getsockname()[:2]
        self.bound = (str(host_), int(port_))

    def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        log.info(
            "listener.started name=%s host=%s port=%d tls=%s",
            self.name,
            self.bound[0],
            self.bound[1],
            "implicit" if self._server.config.ssl else "no",
        )

    async def stop(self) -> None:
        """Ask uvicorn to finish in-flight requests and wait for it."""
        if self._task is None:
            self._sock.close()
            return
        self._server.should_exit = True
        await self._task
        log.info("listener.stopped name=%s", self.name)


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. Raises OSError (address in use, no permission)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
