"""USER/PASS and AUTH (RFC 1939 §7, RFC 5034 §4): credentials checked by the directory's
Authenticator; the session owns the framing (base64, "+ ", "*")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tidings.directory import sasl
from tidings.directory.auth import Authenticated
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput
from tidings.pop3.responses import ResponseCode
from tidings.pop3.session import Challenge, Outcome, Refused

log = logging.getLogger(__name__)


class SASLExchangeLike(Protocol):
    async def start(self, initial_response: bytes | None) -> sasl.Challenge | Authenticated: ...

    async def step(self, response: bytes) -> sasl.Challenge | Authenticated: ...


class POP3Authenticator(Protocol):
    """What POP3 needs of `tidings.directory.auth.Authenticator`."""

    async def authenticate(self, login: str, password: str, remote_ip: str) -> Principal: ...

    def sasl(
        self, mechanism: str, *, remote_ip: str, allow_impersonation: bool = False
    ) -> SASLExchangeLike: ...


OpenMaildrop = Callable[[Principal], Awaitable[Outcome]]


class AuthCommands:
    """One session's authentication state: the SASL exchange in progress, if any."""

    def __init__(
        self, authenticator: POP3Authenticator, open_maildrop: OpenMaildrop, *, remote_ip: str
    ) -> None:
        self.authenticator = authenticator
        self.open_maildrop = open_maildrop
        self.remote_ip = remote_ip
        self._exchange: SASLExchangeLike | None = None
        self._final: Authenticated | None = None

    async def login(self, user: str, password: str) -> Outcome:
        """USER/PASS. Raises AuthenticationFailed, TemporaryFailure."""
        principal = await self.authenticator.authenticate(user, password, self.remote_ip)
        return await self.open_maildrop(principal)

    async def start(self, mechanism: str, initial_response: bytes | None) -> Outcome:
        """AUTH mechanism [initial-response]. Raises AuthenticationFailed."""
        self.cancel()
        try:
            exchange = self.authenticator.sasl(mechanism, remote_ip=self.remote_ip)
        except InvalidInput:
            return Refused("unsupported SASL mechanism")
        self._exchange = exchange
        try:
            return await self._advance(await exchange.start(initial_response))
        except BaseException:
            self.cancel()
            raise

    async def respond(self, data: bytes) -> Outcome:
        """The client's decoded answer to the last challenge. Raises AuthenticationFailed."""
        final, self._final = self._final, None
        if final is not None:
            # RFC 5034 §4: after the server's additional data, the client answers empty.
            self.cancel()
            if data:
                return Refused("authentication failed", ResponseCode.AUTH)
            return await self.open_maildrop(final.principal)
        exchange = self._exchange
        if exchange is None:
            return Refused("no authentication in progress")
        try:
            return await self._advance(await exchange.step(data))
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        self._exchange = None
        self._final = None

    async def _advance(self, result: sasl.Challenge | Authenticated) -> Outcome:
        if isinstance(result, sasl.Challenge):
            return Challenge(result.data)
        if result.server_final is not None:
            # SCRAM's "v=": POP3 has no room for it in +OK, so it goes as a challenge.
            self._final = result
            return Challenge(result.server_final)
        self.cancel()
        return await self.open_maildrop(result.principal)
