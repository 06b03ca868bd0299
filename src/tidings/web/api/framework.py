"""A small declarative layer over Starlette for the admin API.

Each `Endpoint` names its method, path, query and body fields and handler; the
same list builds the routes, validates requests and writes the OpenAPI 3.1
document, so the document cannot drift from what is served.
Errors are JSON: `{"error": {"code", "message", "field"}}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidings.admin.roles import Actor
from tidings.model.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    TemporaryFailure,
    TidingsError,
)

if TYPE_CHECKING:
    from tidings.admin.service import AdminService

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 1000
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict,
    "array": list,
}


@dataclass(frozen=True, slots=True)
class Field:
    """One query parameter or body member."""

    name: str
    type: str = "string"  # string, integer, boolean, object, array
    required: bool = False
    description: str = ""
    enum: tuple[str, ...] | None = None
    nullable: bool = False
    minimum: int | None = None
    maximum: int | None = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": [self.type, "null"] if self.nullable else self.type}
        if self.enum is not None:
            schema["enum"] = [*self.enum, None] if self.nullable else list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.description:
            schema["description"] = self.description
        return schema


class APIError(Exception):
    """An error that becomes a JSON error response."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(slots=True)
class Call:
    """What a handler gets: the service, the actor and the validated input."""

    service: AdminService
    actor: Actor
    path: Mapping[str, str]
    query: dict[str, Any]
    body: dict[str, Any]
    request: Request


Result = tuple[int, Any] | Response
Handler = Callable[[Call], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # under /api, e.g. /v1/domains/{name}
    handler: Handler
    summary: str
    tag: str
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] | None = None
    status: int = 200
    response: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


def paging_fields() -> tuple[Field, ...]:
    return (
        Field("offset", "integer", minimum=0, description="skip this many"),
        Field("limit", "integer", minimum=1, maximum=MAX_LIMIT, description="at most this many"),
    )


def page(items: Sequence[Any], total: int, call: Call) -> tuple[int, dict[str, Any]]:
    return 200, {
        "items": list(items),
        "total": total,
        "offset": call.query.get("offset", 0),
        "limit": call.query.get("limit", 100),
    }


def _coerce(spec: Field, raw: Any, where: str) -> Any:
    """Check one value against its field; query strings are converted first."""
    if raw is None:
        if spec.nullable:
            return None
        raise APIError(422, "invalid", f"{spec.name} must not be null", spec.name)
    if where == "query" and spec.type == "integer":
        try:
            raw = int(raw)
        except ValueError:
            raise APIError(422, "invalid", f"{spec.name} must be an integer", spec.name) from None
    if where == "query" and spec.type == "boolean":
        if raw not in ("true", "false"):
            raise APIError(422, "invalid", f"{spec.name} must be true or false", spec.name)
        raw = raw == "true"
    wanted = JSON_TYPES[spec.type]
    if not isinstance(raw, wanted) or (wanted is int and isinstance(raw, bool)):
        raise APIError(422, "invalid", f"{spec.name} must be a {spec.type}", spec.name)
    if spec.enum is not None and raw not in spec.enum:
        choices = ", ".join(spec.enum)
        raise APIError(422, "invalid", f"{spec.name} must be one of: {choices}", spec.name)
    number: Any = raw
    if spec.minimum is not None and number < spec.minimum:
        raise APIError(422, "invalid", f"{spec.name} must be at least {spec.minimum}", spec.name)
    if spec.maximum is not None and number > spec.maximum:
        raise APIError(422, "invalid", f"{spec.name} must be at most {spec.maximum}", spec.name)
    return raw


def _validate(specs: Sequence[Field], given: Mapping[str, Any], where: str) -> dict[str, Any]:
    known = {s.name for s in specs}
    for name in given:
        if name not in known:
            raise APIError(422, "unknown_field", f"unknown {where} field {name}", name)
    found: dict[str, Any] = {}
    for spec in specs:
        if spec.name in given:
            found[spec.name] = _coerce(spec, given[spec.name], where)
        elif spec.required:
            raise APIError(422, "missing", f"{spec.name} is required", spec.name)
    return found


async def _read_body(request: Request, specs: Sequence[Field]) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise APIError(413, "too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return _validate(specs, {}, "body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise APIError(400, "malformed", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise APIError(400, "malformed", "the request body must be a JSON object")
    return _validate(specs, data, "body")


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="tidings", Basic realm="tidings"'}
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}},
        status,
        headers=headers if status == 401 else None,
    )


def _domain_error(exc: TidingsError) -> APIError:
    match exc:
        case InvalidInput():
            return APIError(422, "invalid", str(exc), exc.field)
        case NotFound():
            return APIError(404, "not_found", str(exc) or "not found")
        case PermissionDenied():
            return APIError(403, "forbidden", str(exc) or "forbidden")
        case Conflict():
            return APIError(409, "conflict", str(exc) or "conflict")
        case AuthenticationFailed(throttled=True):
            return APIError(429, "throttled", str(exc))
        case AuthenticationFailed():
            return APIError(401, "unauthenticated", str(exc))
        case QuotaExceeded():
            return APIError(409, "quota_exceeded", str(exc))
        case TemporaryFailure():
            return APIError(503, "unavailable", str(exc) or "try again later")
    return APIError(400, "rejected", str(exc) or type(exc).__name__)


async def authenticate(service: AdminService, request: Request) -> Actor:
    """The actor behind the Authorization header (Bearer token or Basic)."""
    header = request.headers.get("authorization", "")
    remote_ip = request.client.host if request.client else "unknown"
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return await service.auth.from_token(value.strip(), remote_ip)
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise APIError(401, "unauthenticated", "malformed Basic credentials") from None
        login, sep, password = decoded.partition(":")
        if not sep:
            raise APIError(401, "unauthenticated", "malformed Basic credentials")
        return await service.auth.from_password(login, password, remote_ip)
    raise APIError(401, "unauthenticated", "send Authorization: Bearer <token> or Basic")


def to_route(endpoint: Endpoint, service: AdminService) -> Route:
    """The Starlette route that authenticates, validates, runs and maps errors."""

    async def run(request: Request) -> Response:
        try:
            actor = await authenticate(service, request)
            query = _validate(endpoint.query, request.query_params, "query")
            body = await _read_body(request, endpoint.body) if endpoint.body is not None else {}
            call = Call(service, actor, request.path_params, query, body, request)
            result = await endpoint.handler(call)
        except APIError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.field)
        except TidingsError as exc:
            mapped = _domain_error(exc)
            return error_response(mapped.status, mapped.code, mapped.message, mapped.field)
        except Exception:
            log.exception("admin_api.failed method=%s path=%s", request.method, request.url.path)
            return error_response(500, "internal", "internal error; see the server log")
        if isinstance(result, Response):
            return result
        status, payload = result
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(payload, status)

    return Route(endpoint.path, run, methods=[endpoint.method], name=endpoint.operation_id)
