"""The delivery stage for iMIP mail (RFC 6047 §3): an iTIP message mailed to a local
user updates their calendar (a REQUEST lands in the schedule inbox and tentatively in
the calendar, a REPLY updates the organizer's copy, a CANCEL removes it). The mail
itself is always delivered, as Exchange does."""

from __future__ import annotations

import email
import email.policy
import logging
from email.utils import getaddresses

from tidings.calendar.imip import calendar_parts
from tidings.calendar.scheduling import Scheduler
from tidings.delivery.stages import Accept, StageInput, Verdict
from tidings.model.directory import Principal
from tidings.model.errors import TidingsError

log = logging.getLogger(__name__)

MAX_IMIP_BYTES = 5_000_000  # larger mail is not looked at for calendar parts


class IMIPStage:
    name = "imip"

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def evaluate(self, message: StageInput) -> Verdict:
        raw = message.raw
        if len(raw) > MAX_IMIP_BYTES or b"text/calendar" not in raw.lower():
            return Accept()
        parts = calendar_parts(raw)
        if not parts:
            return Accept()
        senders = await self._senders(message)
        for recipient in message.recipients:
            for target in recipient.local:
                for text in parts:
                    await self._receive(target.principal, text, senders)
        return Accept()

    async def _receive(self, principal: Principal, text: str, senders: list[str]) -> None:
        try:
            outcome = await self.scheduler.receive_imip(principal, text, senders)
        except TidingsError as error:
            log.info(
                "imip.ignored to=%s error=%s detail=%s",
                principal.name, type(error).__name__, error,
            )
            return
        log.info("imip.processed to=%s delivered=%d", principal.name, len(outcome.delivered))

    async def _senders(self, message: StageInput) -> list[str]:
        """Envelope sender and From: addresses; from outside, local addresses are not
        believed (an external message cannot speak for a local organizer)."""
        parsed = email.message_from_bytes(message.raw, policy=email.policy.compat32)
        found = [message.sender.lower()] if message.sender else []
        found += [addr.lower() for _, addr in getaddresses(parsed.get_all("From", [])) if addr]
        if message.submitted_by is not None:
            return found
        return [a for a in found if await self.scheduler.local_principal(a) is None]
