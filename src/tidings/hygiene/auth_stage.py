"""The sender-authentication delivery stages: SPF, DKIM, ARC and DMARC for mail that
arrives on the MX, one Authentication-Results field (RFC 8601), then the DMARC
disposition (RFC 7489 §6.3): reject -> 550 5.7.1, quarantine -> Junk, none -> headers."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from tidings.delivery.stages import Accept, AddHeaders, FileInto, Reject, StageInput, Verdict
from tidings.hygiene.auth_results import AuthSummary, authentication_results
from tidings.hygiene.context import AuthStatus, MessageContext, context_for, peek_context
from tidings.hygiene.dkim_verify import DKIMResult, SignatureResult, verify_arc, verify_dkim
from tidings.hygiene.dmarc import Disposition, evaluate
from tidings.hygiene.dns import CachingLookup, DNSLookup
from tidings.hygiene.spf import SPFOutcome, SPFResult, check_host
from tidings.model.mail import MailboxRole

log = logging.getLogger(__name__)

AUTH_RESULTS = "Authentication-Results"
_DISPOSITION_NOTE = "dmarc_disposition"


class AuthStage:
    """Checks SPF, DKIM, ARC and DMARC; adds Authentication-Results, strips forged ones.

    Mail submitted by an authenticated user is not checked (it is ours).
    """

    name = "auth"

    def __init__(
        self, dns: DNSLookup, authserv_id: str, *,
        sample: Callable[[], float] = random.random,
    ) -> None:
        self.dns = dns
        self.authserv_id = authserv_id.lower()
        self.sample = sample

    async def evaluate(self, message: StageInput) -> Verdict:
        remove = ((AUTH_RESULTS, self.authserv_id),)
        if message.submitted_by is not None:
            return AddHeaders((), remove)
        dns = CachingLookup(self.dns)  # one cache per message
        spf, dkim, arc = await asyncio.gather(
            self._spf(dns, message), verify_dkim(dns, message.raw),
            verify_arc(dns, message.raw),
        )
        dkim_pass = [s.domain for s in dkim if s.result is DKIMResult.PASS]
        spf_pass = spf.domain if spf is not None and spf.result is SPFResult.PASS else None
        dmarc = await evaluate(dns, message.raw, spf_pass_domain=spf_pass,
                               dkim_pass_domains=dkim_pass, sample=self.sample)
        identity = "mailfrom" if message.sender else "helo"
        value = authentication_results(
            self.authserv_id, AuthSummary(spf, identity, dkim, dmarc, arc)
        )
        context = context_for(message)
        _record(context, spf, dkim, dkim_pass)
        context.dmarc = AuthStatus(dmarc.result.value)
        context.dmarc_policy = dmarc.policy
        context.notes[_DISPOSITION_NOTE] = dmarc.disposition.value
        context.arc = AuthStatus(arc.result) if arc.result in set(AuthStatus) else None
        context.authentication_results = value
        log.info("hygiene.auth spf=%s dkim=%s dmarc=%s arc=%s dns_queries=%d",
                 spf.result if spf else "-", ",".join(s.result for s in dkim) or "none",
                 dmarc.result, arc.result, dns.queries)
        return AddHeaders(((AUTH_RESULTS, value),), remove)

    async def _spf(self, dns: DNSLookup, message: StageInput) -> SPFOutcome | None:
        if not message.peer_host:
            return None
        try:
            return await check_host(dns, message.peer_host, message.sender, message.helo,
                                    receiver=self.authserv_id)
        except ValueError:  # the peer is not an IP address (a test or a local pipe)
            return None


def _record(context: MessageContext, spf: SPFOutcome | None, dkim: list[SignatureResult],
            dkim_pass: list[str]) -> None:
    if spf is not None:
        context.spf = AuthStatus(spf.result.value)
        context.spf_domain = spf.domain
    if dkim:
        best = DKIMResult.PASS if dkim_pass else dkim[0].result
        context.dkim = AuthStatus(best.value)
    else:
        context.dkim = AuthStatus.NONE
    context.dkim_domains = tuple(dkim_pass)


class DMARCPolicyStage:
    """Applies the DMARC disposition the AuthStage found (it must run after it)."""

    name = "dmarc"

    async def evaluate(self, message: StageInput) -> Verdict:
        context = peek_context(message)
        if context is None or context.dmarc is not AuthStatus.FAIL:
            return Accept()
        disposition = context.notes.get(_DISPOSITION_NOTE, Disposition.NONE.value)
        if disposition == Disposition.REJECT:
            return Reject(550, "5.7.1", "Message rejected by the DMARC policy of the "
                          "sender's domain (no aligned SPF or DKIM pass)")
        if disposition == Disposition.QUARANTINE:
            return FileInto(MailboxRole.JUNK)
        return Accept()

