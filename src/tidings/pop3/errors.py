"""One table: domain error -> POP3 -ERR with an RFC 2449/3206 response code."""

from __future__ import annotations

from tidings.model.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    TemporaryFailure,
    TidingsError,
)
from tidings.pop3.responses import ResponseCode
from tidings.pop3.session import Refused

_TABLE: tuple[tuple[type[TidingsError], str, ResponseCode | None], ...] = (
    (AuthenticationFailed, "authentication failed", ResponseCode.AUTH),
    (NotFound, "no such message or maildrop", None),
    (PermissionDenied, "permission denied", ResponseCode.SYS_PERM),
    (TemporaryFailure, "temporary server failure, try again later", ResponseCode.SYS_TEMP),
)


def refusal_for(error: TidingsError) -> Refused:
    """The -ERR a peer sees for a service error."""
    if isinstance(error, AuthenticationFailed) and error.throttled:
        # RFC 2449 §8.1.2: the client should wait before trying again.
        return Refused("too many failed logins; try again later", ResponseCode.LOGIN_DELAY)
    for kind, text, code in _TABLE:
        if isinstance(error, kind):
            return Refused(text, code)
    return Refused("server error, try again later", ResponseCode.SYS_TEMP)
