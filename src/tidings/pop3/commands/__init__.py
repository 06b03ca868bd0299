"""The POP3 command layer: the only POP3 code that awaits services (STYLE.md §2)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, assert_never

from tidings.model.errors import TidingsError
from tidings.pop3.commands.auth import AuthCommands, POP3Authenticator
from tidings.pop3.commands.locks import LocalMaildropLocks, MaildropLocks
from tidings.pop3.commands.maildrop import Maildrop
from tidings.pop3.errors import refusal_for
from tidings.pop3.responses import ResponseCode
from tidings.pop3.session import (
    Fetch,
    Login,
    Outcome,
    Refused,
    Request,
    SASLCancel,
    SASLResponse,
    SASLStart,
    Update,
)

if TYPE_CHECKING:
    # Annotations only: the store package would pull in its SQL backends.
    from tidings.store.services import MailService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class POP3Limits:
    idle_seconds: float = 600.0  # RFC 1939 §3: an autologout timer of at least 10 minutes


class POP3Commands:
    """Runs one session's requests against the services; holds its maildrop lock."""

    def __init__(
        self,
        mail: MailService,
        authenticator: POP3Authenticator,
        locks: MaildropLocks,
        *,
        remote_ip: str,
        limits: POP3Limits | None = None,
    ) -> None:
        self.limits = limits or POP3Limits()
        self.maildrop = Maildrop(mail, locks, holder=secrets.token_hex(8))
        self.auth = AuthCommands(authenticator, self.maildrop.open, remote_ip=remote_ip)

    async def run(self, request: Request) -> Outcome:
        """The outcome of one request; service errors become refusals, never exceptions."""
        try:
            return await self._dispatch(request)
        except TidingsError as exc:
            log.info("pop3.refused request=%s error=%s", type(request).__name__, type(exc).__name__)
            return refusal_for(exc)
        except Exception:
            # The state can no longer be trusted: tell the peer and close (STYLE.md §5).
            log.exception("pop3.request_failed request=%s", type(request).__name__)
            return Refused("internal server error", ResponseCode.SYS_TEMP, closes=True)

    async def _dispatch(self, request: Request) -> Outcome:
        match request:
            case Login(user=user, password=password):
                return await self.auth.login(user, password)
            case SASLStart(mechanism=mechanism, initial_response=initial):
                return await self.auth.start(mechanism, initial)
            case SASLResponse(data=data):
                return await self.auth.respond(data)
            case SASLCancel(reason=reason):
                self.auth.cancel()
                return Refused(reason)
            case Fetch(entry=entry):
                return await self.maildrop.fetch(entry)
            case Update(deleted=deleted, retrieved=retrieved):
                return await self.maildrop.update(deleted, retrieved)
            case _:
                assert_never(request)

    async def close(self) -> None:
        """The session is over: release the lock; without QUIT nothing was deleted."""
        await self.maildrop.release()


__all__ = ["LocalMaildropLocks", "MaildropLocks", "POP3Commands", "POP3Limits"]
