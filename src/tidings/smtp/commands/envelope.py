"""MAIL FROM and RCPT TO checks: submission sender rights, local recipients only on
the MX (no open relay), recipient resolution with quota (RFC 5321 §3.3, RFC 6409 §6)."""

from __future__ import annotations

import logging

from tidings.delivery.recipients import ResolvedRecipient
from tidings.delivery.stages import EnvelopeInput, Reject, TempFail
from tidings.delivery.submission import SenderRights, check_envelope_sender, load_sender_rights
from tidings.model.directory import Principal
from tidings.model.errors import NotFound, TidingsError
from tidings.smtp.address import Address
from tidings.smtp.commands.services import SMTPServices
from tidings.smtp.errors import Stage, reply_for
from tidings.smtp.events import Accepted, CheckRecipient, CheckSender, Outcome, Refused
from tidings.smtp.responses import Reply

log = logging.getLogger(__name__)

_RATE_LIMITED = Reply.of(
    450, "4.7.1", "Too many messages from this sender in the last hour; try again later"
)


class EnvelopeCommands:
    """Per connection: caches the authenticated user's sender rights."""

    def __init__(self, services: SMTPServices) -> None:
        self.services = services
        self._rights: SenderRights | None = None

    async def rights(self, principal: Principal) -> SenderRights:
        if self._rights is None or self._rights.principal.id != principal.id:
            self._rights = await load_sender_rights(self.services.directory, principal)
        return self._rights

    async def check_sender(self, request: CheckSender) -> Outcome:
        principal = request.trace.principal
        limit = self.services.sender_rate
        key = self.services.rate_key(principal.name if principal else None, request.sender_text)
        if limit is not None and key is not None and not limit.allows(key):
            log.info("smtp.sender_rate_limited")
            return Refused(_RATE_LIMITED)
        if not self.services.kind.is_submission or principal is None:
            return Accepted()
        try:
            check_envelope_sender(await self.rights(principal), request.sender_text)
        except TidingsError as error:
            log.info("smtp.sender_refused principal=%s", principal.name)
            return Refused(reply_for(error, Stage.MAIL, request.sender_text))
        return Accepted()

    async def check_recipient(self, request: CheckRecipient) -> Outcome:
        address = request.recipient
        domain = address.domain or self.services.postmaster_domain or self.services.hostname
        text = f"{address.local_part}@{domain}"
        try:
            resolved = await self._resolve(address, domain, request.envelope.params.size)
        except TidingsError as error:
            log.info("smtp.recipient_refused error=%s", type(error).__name__)
            return Refused(reply_for(error, Stage.RCPT, text))
        if resolved.is_remote and not self._may_relay(request):
            log.info("smtp.relay_denied")
            return Refused(Reply.of(
                550, "5.7.1", f"Relay access denied: this server does not take mail for <{text}>"
            ))
        refused = await self._envelope_stages(request, text)
        return refused or Accepted(payload=resolved)

    async def _envelope_stages(self, request: CheckRecipient, recipient: str) -> Refused | None:
        """DNSBL, greylisting and rate limits for unauthenticated mail (tidings.hygiene)."""
        if not self.services.envelope_stages or request.trace.principal is not None:
            return None
        envelope = EnvelopeInput(
            request.trace.peer_host, request.trace.ehlo_name, request.envelope.sender_text,
            recipient, first_recipient=not request.envelope.recipients,
        )
        for stage in self.services.envelope_stages:
            verdict = await stage.check(envelope)
            if isinstance(verdict, Reject | TempFail):
                log.info("smtp.envelope_refused stage=%s code=%s", stage.name, verdict.enhanced)
                return Refused(Reply.of(verdict.code, verdict.enhanced, verdict.text))
        return None

    async def _resolve(self, address: Address, domain: str, size: int | None) -> ResolvedRecipient:
        """The recipient's mailbox; <postmaster> falls back to `[smtp] postmaster`
        (RFC 5321 §4.5.1: every domain we take mail for has a postmaster). Raises
        NotFound, PermissionDenied, QuotaExceeded, PolicyRejection."""
        resolver = self.services.resolver
        fallback = self.services.postmaster
        if not (address.is_postmaster and fallback):
            return await resolver.resolve(address.local_part, domain, size=size)
        if address.domain:
            try:
                return await resolver.resolve(address.local_part, domain, size=size)
            except NotFound:
                if not await resolver.is_local_domain(domain):
                    raise
        local, _, fallback_domain = fallback.rpartition("@")
        target = await resolver.resolve(local, fallback_domain, size=size)
        log.info("smtp.postmaster_redirected")
        return ResolvedRecipient(f"postmaster@{domain}", target.local, target.is_remote)

    def _may_relay(self, request: CheckRecipient) -> bool:
        """Only authenticated submission may send to remote domains."""
        return self.services.kind.is_submission and request.trace.principal is not None


def resolved_of(payload: object) -> ResolvedRecipient:
    if not isinstance(payload, ResolvedRecipient):
        raise TypeError(f"recipient was not resolved: {payload!r}")
    return payload
