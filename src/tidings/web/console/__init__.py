"""The web admin console at /admin: server-rendered pages over `AdminService`.

`console_mount(service)` returns the Starlette Mount to add to the HTTP app
(see docs/admin-console.md). Assets are in `static/`, pages in `templates/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tidings.web.auth.login import ConsoleLogin
from tidings.web.auth.sessions import SessionManager
from tidings.web.console import pages_directory as d
from tidings.web.console import pages_main as m
from tidings.web.console import pages_ops as o
from tidings.web.console.framework import HERE, Console, Handler, View

if TYPE_CHECKING:
    from tidings.admin.service import AdminService

BASE = "/admin"


def _routes(console: Console) -> list[BaseRoute]:
    def page(fn: Callable[[View, Console], Awaitable[Response]]) -> Handler:
        async def handler(view: View) -> Response:
            return await fn(view, console)

        return handler

    def get(path: str, fn: Callable[[View, Console], Awaitable[Response]]) -> Route:
        return Route(path, console.page(page(fn)), methods=["GET"])

    def post(path: str, fn: Callable[[View, Console], Awaitable[Response]]) -> Route:
        return Route(path, console.page(page(fn)), methods=["POST"])

    async def login_get(request: Request) -> Response:
        return await m.login_form(console, request)

    async def login_post(request: Request) -> Response:
        return await m.login_submit(console, request)

    return [
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        post("/logout", m.logout),
        get("/", m.dashboard),
        get("/status.json", m.status_json),
        get("/users", d.users),
        get("/users/new", d.user_new),
        post("/users/new", d.user_create),
        get("/users/{address}", d.user_edit),
        post("/users/{address}", d.user_update),
        post("/users/{address}/password", d.user_password),
        post("/users/{address}/delete", d.user_delete),
        get("/groups", d.groups),
        post("/groups", d.group_create),
        get("/groups/{address}", d.group_page),
        post("/groups/{address}/members", d.group_member_add),
        post("/groups/{address}/members/remove", d.group_member_remove),
        get("/domains", d.domains),
        post("/domains", d.domain_create),
        get("/domains/{name}", d.domain_page),
        post("/domains/{name}/delete", d.domain_delete),
        get("/queue", o.queue),
        post("/queue/{id}/retry", o.queue_retry),
        post("/queue/{id}/delete", o.queue_delete),
        get("/audit", o.audit),
        get("/audit/export", o.audit_export),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="console-static"),
    ]


def console_mount(service: AdminService, *, require_totp: bool = True) -> Mount:
    """The /admin mount. Needs a service built with a console state store."""
    if service.console_state is None:
        raise ValueError("the admin console needs AdminService(console_state=...)")
    sessions = SessionManager(service.console_state, path=BASE)
    console = Console(service, sessions, ConsoleLogin(service, require_totp=require_totp),
                      base=BASE)  # fmt: skip
    return Mount(BASE, routes=_routes(console))
