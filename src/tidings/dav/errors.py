"""One table: domain error -> HTTP status and precondition body (RFC 4918 §16,
RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1, RFC 6578 §3.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tidings.calendar.vcard import VALID_DATA as ADDRESS_DATA
from tidings.dav.xml import CALDAV, CARDDAV, DAV, MalformedXML, error_body, href
from tidings.model.dav import InvalidSyncToken, PreconditionFailed, UIDConflict
from tidings.model.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TemporaryFailure,
    TidingsError,
)

XML = "application/xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class DAVResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def precondition(status: int, namespace: str, name: str) -> DAVResponse:
    return DAVResponse(status, error_body(namespace, name), {"Content-Type": XML})


def response_for(error: TidingsError | MalformedXML, uid_href: str = "") -> DAVResponse:
    """The HTTP answer for a domain error; the text tells the client what to fix."""
    match error:
        case MalformedXML():
            return DAVResponse(400, str(error).encode(), {"Content-Type": "text/plain"})
        case InvalidSyncToken():
            return precondition(403, DAV, "valid-sync-token")
        case UIDConflict():
            body = error_body(CALDAV, "no-uid-conflict", href(uid_href))
            return DAVResponse(409, body, {"Content-Type": XML})
        case PreconditionFailed():
            return DAVResponse(412, str(error).encode(), {"Content-Type": "text/plain"})
        case Conflict():
            return DAVResponse(405, str(error).encode(), {"Content-Type": "text/plain"})
        case InvalidInput(field=str(name)) if name == ADDRESS_DATA:
            return precondition(403, CARDDAV, "valid-address-data")
        case InvalidInput(field=str(name)) if name.startswith(("valid-calendar", "supported-cal")):
            return precondition(403, CALDAV, name)
        case InvalidInput():
            return DAVResponse(400, str(error).encode(), {"Content-Type": "text/plain"})
        case NotFound():
            return DAVResponse(404, b"not found", {"Content-Type": "text/plain"})
        case PermissionDenied():
            return DAVResponse(403, str(error).encode(), {"Content-Type": "text/plain"})
        case TemporaryFailure():
            return DAVResponse(503, b"try again later", {"Retry-After": "5"})
    return DAVResponse(500, b"internal error")
