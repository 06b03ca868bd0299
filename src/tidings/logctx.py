"""The per-session logging context: who is talking to us, on which protocol.

The listener binds a fresh `SessionContext` for every connection; protocol code adds
the principal after authentication with `set_principal`. The log formatter reads it.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class SessionContext:
    session_id: str
    protocol: str
    peer: str
    principal: str | None = None


session_context: ContextVar[SessionContext | None] = ContextVar("tidings_session", default=None)


def new_session_id() -> str:
    """A short random id that ties one session's log lines together."""
    return secrets.token_hex(6)


def bind_session(protocol: str, peer: str) -> Token[SessionContext | None]:
    """Start a session context in the current task; returns a token for `unbind`."""
    return session_context.set(SessionContext(new_session_id(), protocol, peer))


def unbind(token: Token[SessionContext | None]) -> None:
    session_context.reset(token)


def set_principal(principal: str | None) -> None:
    """Record the authenticated principal (or None after a reset) for later log lines."""
    current = session_context.get()
    if current is not None:
        session_context.set(replace(current, principal=principal))


def current_session_id() -> str | None:
    current = session_context.get()
    return None if current is None else current.session_id
