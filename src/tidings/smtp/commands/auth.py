"""AUTH (RFC 4954) over the directory's SASL exchanges (PLAIN, LOGIN, SCRAM-SHA-256)."""

from __future__ import annotations

import logging

from tidings.directory.auth import Authenticated, Authenticator, SASLExchange
from tidings.directory.sasl import Challenge
from tidings.logctx import set_principal
from tidings.model.errors import AuthenticationFailed, InvalidInput
from tidings.smtp.errors import Stage, reply_for
from tidings.smtp.events import (
    AuthChallenge,
    AuthResponse,
    AuthStart,
    AuthSucceeded,
    Outcome,
    Refused,
)
from tidings.smtp.responses import Reply

log = logging.getLogger(__name__)

_NO_AUTH = Reply.of(503, "5.5.1", "Authentication is not available here")


class AuthCommands:
    """One connection's SASL state: the exchange in progress, if any."""

    def __init__(self, authenticator: Authenticator | None, remote_ip: str) -> None:
        self.authenticator = authenticator
        self.remote_ip = remote_ip
        self._exchange: SASLExchange | None = None
        self._final: Authenticated | None = None  # SCRAM: success waiting for the "v=" ack

    async def start(self, request: AuthStart) -> Outcome:
        self._exchange = None
        self._final = None
        if self.authenticator is None:
            return Refused(_NO_AUTH)
        try:
            self._exchange = self.authenticator.sasl(request.mechanism, remote_ip=self.remote_ip)
            return self._outcome(await self._exchange.start(request.initial_response))
        except (AuthenticationFailed, InvalidInput) as error:
            self._exchange = None
            return Refused(reply_for(error, Stage.AUTH))

    async def respond(self, request: AuthResponse) -> Outcome:
        if self._final is not None:
            # RFC 4954 §4: after the server's final SASL data the client sends an empty line.
            final, self._final = self._final, None
            if request.data:
                return Refused(reply_for(AuthenticationFailed(), Stage.AUTH))
            return self._succeed(final)
        if self._exchange is None:
            return Refused(reply_for(AuthenticationFailed(), Stage.AUTH))
        try:
            return self._outcome(await self._exchange.step(request.data))
        except AuthenticationFailed as error:
            self._exchange = None
            return Refused(reply_for(error, Stage.AUTH))

    def _outcome(self, result: Challenge | Authenticated) -> Outcome:
        if isinstance(result, Challenge):
            return AuthChallenge(result.data)
        self._exchange = None
        if result.server_final is not None:
            self._final = result
            return AuthChallenge(result.server_final)
        return self._succeed(result)

    def _succeed(self, result: Authenticated) -> Outcome:
        set_principal(result.principal.name)
        log.info("smtp.authenticated principal=%s mechanism=%s", result.principal.name,
                 result.mechanism)
        return AuthSucceeded(result.principal)
