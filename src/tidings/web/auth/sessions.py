"""Admin console sessions: a random cookie whose SHA-256 is kept in the store.

Server-side sessions (not signed tokens) so that logout, a disabled account or a
password reset end a session at once on every node. The cookie is HttpOnly,
SameSite=Strict, Secure over HTTPS, and scoped to the console's path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from tidings.model.errors import NotFound
from tidings.store.services import ConsoleSession

if TYPE_CHECKING:
    from tidings.model.ids import PrincipalId
    from tidings.store.services import ConsoleStateService

log = logging.getLogger(__name__)

COOKIE = "tidings_console"
LOGIN_CSRF_COOKIE = "tidings_login_csrf"
DEFAULT_LIFETIME = timedelta(hours=8)
MAX_COOKIE_CHARS = 100


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("ascii", "replace")).hexdigest()


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


class SessionManager:
    """Creates, finds and ends console sessions."""

    def __init__(
        self, state: ConsoleStateService, *, path: str = "/admin",
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:  # fmt: skip
        self.state = state
        self.path = path
        self.lifetime = lifetime

    async def create(self, principal_id: PrincipalId, remote_ip: str | None) -> tuple[str, str]:
        """A new session; returns (cookie value, CSRF token)."""
        value = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        session = ConsoleSession(
            _hash(value), principal_id, csrf, now, now + self.lifetime, remote_ip
        )
        await self.state.create_session(session)
        return value, csrf

    async def find(self, request: Request) -> ConsoleSession | None:
        value = request.cookies.get(COOKIE, "")
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        try:
            return await self.state.find_session(_hash(value), datetime.now(UTC))
        except NotFound:
            return None

    async def end(self, request: Request) -> None:
        value = request.cookies.get(COOKIE, "")
        if value and len(value) <= MAX_COOKIE_CHARS:
            await self.state.delete_session(_hash(value))

    def set_cookie(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self.lifetime.total_seconds()),
            path=self.path,
            secure=is_https(request),
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            COOKIE, path=self.path, secure=is_https(request), httponly=True, samesite="strict"
        )


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def set_login_cookie(response: Response, request: Request, token: str, path: str) -> None:
    """The login form's double-submit CSRF cookie (there is no session yet)."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, path=path, secure=is_https(request),
        httponly=True, samesite="strict",
    )  # fmt: skip


def same_origin(request: Request) -> bool:
    """A state-changing request must come from our own pages when the browser says
    where it comes from (Origin, else Referer); absent both, the token decides."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own or origin.startswith(own + "/")
