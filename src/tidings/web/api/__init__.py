"""The admin REST API: `/api/v1/...` and `/api/openapi.json` (see docs/admin-api.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tidings.web.api import calendar_routes, directory_routes, hygiene_routes, ops_routes
from tidings.web.api.framework import Endpoint, error_response, to_route
from tidings.web.api.openapi import openapi_document

if TYPE_CHECKING:
    from tidings.admin.service import AdminService

ENDPOINTS: tuple[Endpoint, ...] = (
    *ops_routes.ENDPOINTS, *directory_routes.ENDPOINTS, *hygiene_routes.ENDPOINTS,
    *calendar_routes.ENDPOINTS,
)


def api_mount(service: AdminService) -> Mount:
    """The `/api` mount to pass in `create_app(routes=[...])`."""
    document = openapi_document(ENDPOINTS)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def not_found(request: Request) -> Response:
        return error_response(404, "not_found", f"no API endpoint at {request.url.path}")

    routes = [
        Route("/openapi.json", openapi, methods=["GET"]),
        *(to_route(e, service) for e in ENDPOINTS),
        Route("/{rest:path}", not_found),
    ]
    return Mount("/api", routes=routes)
