"""The SMTP command layer: the only SMTP code that awaits services (STYLE.md §2)."""

from __future__ import annotations

import logging

from tidings.smtp import responses as r
from tidings.smtp.commands.auth import AuthCommands
from tidings.smtp.commands.envelope import EnvelopeCommands
from tidings.smtp.commands.message import finish_message
from tidings.smtp.commands.services import SMTPServices
from tidings.smtp.events import (
    Accepted,
    AuthResponse,
    AuthStart,
    BeginTLS,
    CheckRecipient,
    CheckSender,
    DeliverMessage,
    Outcome,
    Refused,
    Request,
)

log = logging.getLogger(__name__)

__all__ = ["SMTPCommands", "SMTPServices"]


class SMTPCommands:
    """One connection's command layer: runs the session's requests against services."""

    def __init__(self, services: SMTPServices, *, remote_ip: str) -> None:
        self.services = services
        self.envelope = EnvelopeCommands(services)
        self.auth = AuthCommands(services.authenticator, remote_ip)

    async def run(self, request: Request) -> Outcome:
        """The outcome for one request; an unexpected error becomes a 451, logged once."""
        try:
            return await self._dispatch(request)
        except Exception:
            log.exception("smtp.command_failed request=%s", type(request).__name__)
            return Refused(r.TEMPORARY_FAILURE)

    async def _dispatch(self, request: Request) -> Outcome:
        match request:
            case CheckSender():
                return await self.envelope.check_sender(request)
            case CheckRecipient():
                return await self.envelope.check_recipient(request)
            case DeliverMessage():
                return await finish_message(self.services, self.envelope, request)
            case AuthStart():
                return await self.auth.start(request)
            case AuthResponse():
                return await self.auth.respond(request)
            case BeginTLS():
                return Accepted()
        raise TypeError(f"unknown request {request!r}")
