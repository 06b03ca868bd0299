"""One table: domain errors -> tagged NO/BAD with a response code (RFC 5530 codes)."""

from __future__ import annotations

from tidings.imap.responses import Code
from tidings.model.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRejection,
    QuotaExceeded,
    TemporaryFailure,
    TidingsError,
)

_TABLE: tuple[tuple[type[TidingsError], str, str, str], ...] = (
    (NotFound, "NO", "NONEXISTENT", "No such mailbox or message"),
    (PermissionDenied, "NO", "NOPERM", "Permission denied"),
    (QuotaExceeded, "NO", "OVERQUOTA", "Quota exceeded; delete some messages"),
    (Conflict, "NO", "CANNOT", "Conflicts with the current state"),
    (InvalidInput, "NO", "CANNOT", "Invalid request"),
    (AuthenticationFailed, "NO", "AUTHENTICATIONFAILED", "Authentication failed"),
    (PolicyRejection, "NO", "CANNOT", "Refused by policy"),
    (TemporaryFailure, "NO", "UNAVAILABLE", "Temporary failure, please try again later"),
)


def map_error(error: TidingsError) -> tuple[str, Code, str]:
    """(status, code, text) for a service error; the error's own text if it has one."""
    if isinstance(error, AuthenticationFailed) and error.throttled:
        return "NO", Code("UNAVAILABLE"), "Too many failed attempts; try again later"
    for kind, status, code, text in _TABLE:
        if isinstance(error, kind):
            detail = str(error) or text
            return status, Code(code), detail[:200]
    return "NO", Code("SERVERBUG"), "Internal error"
