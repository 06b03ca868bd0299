"""The DAV router on the web app: HTTP Basic auth, method dispatch, error mapping,
and the RFC 6764 well-known redirects."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from tidings.dav.errors import DAVResponse, response_for
from tidings.dav.gal import GAL
from tidings.dav.handlers import DAVHandlers, DAVRequest, strip_etag
from tidings.dav.reports import report
from tidings.dav.scheduling import ImplicitScheduling, ScheduleBoxes
from tidings.dav.xml import MAX_BODY_BYTES, MalformedXML
from tidings.model.directory import Principal
from tidings.model.errors import AuthenticationFailed, TidingsError
from tidings.store.services import DAVService, DirectoryService

if TYPE_CHECKING:
    from tidings.calendar.scheduling import Scheduler
    from tidings.directory.auth import Authenticator

log = logging.getLogger(__name__)

ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, REPORT, POST"
DAV_HEADER = "1, 3, access-control, calendar-access, addressbook, extended-mkcol"
REALM = 'Basic realm="Tidings", charset="UTF-8"'
METHODS = [m.strip() for m in ALLOW.split(",")]


class DAVApp:
    """An ASGI app for everything under /dav."""

    def __init__(
        self,
        dav: DAVService,
        directory: DirectoryService,
        authenticator: Authenticator,
        *,
        allow_plaintext_on_loopback: bool = True,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.handlers = DAVHandlers(dav, directory)
        # RFC 6638: implicit scheduling on PUT/DELETE and the inbox/outbox collections.
        self.boxes = ScheduleBoxes(dav, directory, scheduler) if scheduler else None
        if scheduler is not None:
            self.handlers.scheduling = ImplicitScheduling(dav, scheduler)
        self.gal = GAL(directory)
        self.handlers.gal = self.gal
        self.authenticator = authenticator
        self.allow_plaintext_on_loopback = allow_plaintext_on_loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        answer = await self.answer(request)
        dav_header = DAV_HEADER + (", calendar-auto-schedule" if self.boxes else "")
        headers = {"DAV": dav_header, **answer.headers}
        await Response(answer.body, answer.status, headers)(scope, receive, send)

    async def answer(self, request: Request) -> DAVResponse:
        if request.method == "OPTIONS":
            return DAVResponse(200, headers={"Allow": ALLOW})
        if not self.may_send_password(request):
            # Refused before any password is checked: it crossed the network in clear.
            return DAVResponse(403, b"Basic authentication needs TLS: connect with https")
        actor = await self.authenticate(request)
        if actor is None:
            return DAVResponse(401, b"credentials needed", {"WWW-Authenticate": REALM})
        body = await _read_body(request)
        if body is None:
            return DAVResponse(413, b"the request body is too large")
        dav_request = DAVRequest(
            method=request.method,
            path=request.scope["root_path"] + request.scope["path"]
            if not request.scope["path"].startswith("/dav")
            else request.scope["path"],
            body=body,
            depth=request.headers.get("depth", "0").strip().lower(),
            if_match=strip_etag(request.headers.get("if-match")),
            if_none_match=request.headers.get("if-none-match", "").strip() == "*",
        )
        try:
            if self.gal.serves(dav_request.path):
                return await self.gal.answer(dav_request, actor)
            if self.boxes is not None and self.boxes.handles(dav_request.path):
                return await self.boxes.answer(
                    request.method, dav_request.path, body, dav_request.depth, actor
                )
            if request.method == "REPORT":
                return await report(self.handlers, dav_request, actor)
            handler = self.handlers.methods.get(request.method)
            if handler is None:
                return DAVResponse(405, b"method not allowed", {"Allow": ALLOW})
            return await handler(dav_request, actor)
        except (TidingsError, MalformedXML) as error:
            answer = response_for(error, uid_href=_uid_href(dav_request.path, error))
            log.info(
                "dav.refused method=%s status=%d error=%s",
                request.method,
                answer.status,
                type(error).__name__,
            )
            return answer

    def may_send_password(self, request: Request) -> bool:
        """Basic auth only over TLS, or on loopback when the config allows it."""
        if request.url.scheme == "https":
            return True
        return self.allow_plaintext_on_loopback and _is_loopback(
            request.client.host if request.client else ""
        )

    async def authenticate(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            login, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep:
            return None
        peer = request.client.host if request.client else ""
        try:
            # Basic sends the password with every request: the shared verified-password
            # cache (docs/decisions/0003a) spares a hash per request.
            return await self.authenticator.authenticate_cached(login, password, peer)
        except AuthenticationFailed:
            log.info("dav.auth_failed login=%s peer=%s", login, peer)
            return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _uid_href(path: str, error: Exception) -> str:
    existing = getattr(error, "existing_name", "")
    return path.rsplit("/", 1)[0] + "/" + existing if existing else ""


async def _read_body(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def routes(
    dav: DAVService,
    directory: DirectoryService,
    authenticator: Authenticator,
    *,
    allow_plaintext_on_loopback: bool = True,
    scheduler: Scheduler | None = None,
) -> list[BaseRoute]:
    """The routes to add to the web app: /dav and the two well-known redirects;
    with a `scheduler`, RFC 6638 scheduling too."""

    async def well_known(request: Request) -> Response:
        return RedirectResponse("/dav/", status_code=301)

    app = DAVApp(
        dav, directory, authenticator, allow_plaintext_on_loopback=allow_plaintext_on_loopback,
        scheduler=scheduler,
    )
    return [
        Route("/.well-known/caldav", well_known, methods=METHODS),
        Route("/.well-known/carddav", well_known, methods=METHODS),
        Mount("/dav", app=app),
    ]
