"""The console's plumbing: templates, the signed-in admin behind each request,
form parsing, CSRF checks, error pages and security headers.

Every page handler gets a `View` (the request, the acting `Actor`, the session's
CSRF token) and returns a Response. POST handlers run only after the CSRF token
(form field `csrf` or header `X-CSRF-Token`) and the Origin check pass.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tidings.admin.roles import ADMIN_ROLES, Actor, Op, may
from tidings.model.errors import NotFound, PermissionDenied, TidingsError
from tidings.web.auth.sessions import SessionManager, same_origin, tokens_match

if TYPE_CHECKING:
    from tidings.admin.service import AdminService
    from tidings.web.auth.login import ConsoleLogin

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# Set by POST-redirect-GET as ?name=1; the texts are fixed, never taken from the URL.
FLASH = {
    "saved": "Changes saved.",
    "deleted": "Deleted.",
    "retried": "Retry scheduled: the queue runner will try it now.",
}


class FormError(Exception):
    """A request the console refuses before any handler runs (CSRF, size)."""


@dataclass(slots=True)
class Form:
    """An application/x-www-form-urlencoded body."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


def parse_form(raw: bytes) -> Form:
    if len(raw) > MAX_FORM_BYTES:
        raise FormError("the form is too large")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form could not be read") from None
    form = Form()
    for name, value in pairs:
        form.values.setdefault(name, value)
        form.lists.setdefault(name, []).append(value)
    return form


@dataclass(slots=True)
class View:
    """One signed-in request."""

    request: Request
    actor: Actor
    csrf: str
    form: Form = field(default_factory=Form)

    @property
    def remote_ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"


Handler = Callable[[View], Awaitable[Response]]


class Console:
    """Shared state of the console pages."""

    def __init__(
        self, service: AdminService, sessions: SessionManager, login: ConsoleLogin,
        *, base: str = "/admin",
    ) -> None:  # fmt: skip
        self.service = service
        self.sessions = sessions
        self.login = login
        self.base = base
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.globals.update(base=base, may=may, Op=Op, quote=_quote)
        self.templates.filters["size"] = human_size

    def render(
        self, name: str, view: View | None, http_status: int = 200, **context: Any
    ) -> HTMLResponse:
        if view is not None:
            context.setdefault("actor", view.actor)
            context.setdefault("csrf", view.csrf)
            context.setdefault("path", view.request.url.path)
            query = view.request.query_params
            context.setdefault("flash", next((t for k, t in FLASH.items() if k in query), ""))
        html = self.templates.get_template(name).render(**context)
        return HTMLResponse(html, http_status, headers=SECURITY_HEADERS)

    def redirect(self, path: str) -> Response:
        return RedirectResponse(self.base + path, 303, headers=SECURITY_HEADERS)

    async def _view(self, request: Request) -> View | None:
        """The signed-in admin, or None (no session, expired, disabled, demoted)."""
        session = await self.sessions.find(request)
        if session is None:
            return None
        try:
            principal = await self.service.auth.directory.get_principal(session.principal_id)
        except NotFound:
            return None
        if not principal.enabled or principal.role not in ADMIN_ROLES:
            return None
        remote_ip = request.client.host if request.client else None
        actor = await self.service.auth.actor(
            principal, role=principal.role, name=principal.name, remote_ip=remote_ip,
            via="console",
        )  # fmt: skip
        return View(request, actor, session.csrf_token)

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: require a session; on POST check origin and CSRF token."""

        async def endpoint(request: Request) -> Response:
            view = await self._view(request)
            if view is None:
                if request.method != "GET":
                    return self.render("error.html", None, 401, title="Signed out",
                                       message="Your session ended; sign in again.")  # fmt: skip
                return self.redirect("/login")
            try:
                if request.method == "POST":
                    view.form = parse_form(await request.body())
                    given = view.form.get("csrf") or request.headers.get("x-csrf-token")
                    if not same_origin(request) or not tokens_match(view.csrf, given):
                        log.warning("console.csrf_rejected principal=%s", view.actor.name)
                        raise FormError("the form expired or came from another site; reload")
                return await handler(view)
            except FormError as exc:
                return self.render("error.html", view, 400, title="Refused", message=str(exc))
            except NotFound as exc:
                return self.render("error.html", view, 404, title="Not found", message=str(exc))
            except PermissionDenied as exc:
                return self.render("error.html", view, 403, title="Forbidden", message=str(exc))
            except TidingsError as exc:
                return self.render("error.html", view, 409, title="Refused", message=str(exc))

        return endpoint


def _quote(value: str) -> str:
    """A path segment (addresses contain @ and + which are fine; / is not)."""
    return quote(value, safe="@+")


def human_size(value: int | None) -> str:
    if value is None:
        return "unlimited"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def field_errors(exc: TidingsError, default_field: str) -> Mapping[str, str]:
    """The validation message keyed by the form field it belongs to."""
    name = getattr(exc, "field", None) or default_field
    return {name: str(exc)}
