"""Sign in, sign out, the dashboard and its live figures."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidings.model.errors import AuthenticationFailed
from tidings.web.auth.login import WRONG
from tidings.web.auth.sessions import (
    LOGIN_CSRF_COOKIE,
    new_login_token,
    same_origin,
    set_login_cookie,
    tokens_match,
)
from tidings.web.console.charts import bar_chart, share_chart
from tidings.web.console.framework import SECURITY_HEADERS, Console, FormError, View, parse_form

log = logging.getLogger(__name__)


def _remote_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_form(console: Console, request: Request, *, status: int = 200,
                     error: str = "", login: str = "") -> Response:  # fmt: skip
    """The sign-in form with a fresh double-submit CSRF token."""
    token = new_login_token()
    response = console.render(
        "login.html", None, status, csrf=token, error=error, login=login, actor=None,
        path=request.url.path,
    )  # fmt: skip
    set_login_cookie(response, request, token, console.base)
    return response


async def login_submit(console: Console, request: Request) -> Response:
    try:
        form = parse_form(await request.body())
    except FormError as exc:
        return await login_form(console, request, status=400, error=str(exc))
    login = form.get("address").strip()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not tokens_match(expected, form.get("csrf")):
        return await login_form(
            console, request, status=400, login=login,
            error="The sign-in form expired; please try again.",
        )  # fmt: skip
    remote_ip = _remote_ip(request)
    try:
        principal = await console.login.login(
            login, form.get("password"), form.get("code"), remote_ip
        )
    except AuthenticationFailed as exc:
        if exc.throttled:
            message = "Too many failed attempts. Wait a minute, then try again."
            return await login_form(console, request, status=429, error=message, login=login)
        message = WRONG if str(exc) == "authentication failed" else str(exc)
        return await login_form(console, request, status=401, error=message, login=login)
    value, _csrf = await console.sessions.create(principal.id, remote_ip)
    actor = await console.service.auth.actor(
        principal, role=principal.role, name=principal.name, remote_ip=remote_ip, via="console"
    )
    await console.service.trail.record(
        actor=actor.name, actor_address=principal.name, remote_ip=remote_ip,
        action="console.login", object_type="principal", object_id=principal.name,
    )  # fmt: skip
    response = console.redirect("/")
    console.sessions.set_cookie(response, request, value)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=console.base)
    return response


async def logout(view: View, console: Console) -> Response:
    await console.sessions.end(view.request)
    response = console.redirect("/login")
    console.sessions.clear_cookie(response, view.request)
    log.info("console.logout principal=%s", view.actor.name)
    return response


def _hour_label(iso: object) -> str:
    return datetime.fromisoformat(str(iso)).strftime("%H:00") if iso else ""


async def dashboard(view: View, console: Console) -> Response:
    status = await console.service.operations.status(view.actor)
    hourly = [(_hour_label(p["hour"]), int(str(p["messages"]))) for p in status.stored_per_hour]
    principals = [(kind, n) for kind, n in status.principals.items() if n]
    return console.render(
        "dashboard.html", view, status=status,
        hourly=bar_chart(hourly, what="messages stored per hour") if hourly else None,
        kinds=share_chart(principals) if principals else None,
        connections=sum(status.connections.values()),
    )  # fmt: skip


async def status_json(view: View, console: Console) -> Response:
    """The dashboard's figures, polled by console.js to keep them live."""
    status = await console.service.operations.status(view.actor)
    payload = asdict(status)
    payload["connections_total"] = sum(status.connections.values())
    return JSONResponse(payload, headers=SECURITY_HEADERS)
