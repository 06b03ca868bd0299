"""DMARC (RFC 7489): policy discovery at _dmarc.<From domain> then the organizational
domain (§6.6.3), SPF and DKIM identifier alignment (§3.1), p/sp and pct (§6.3).

The organizational domain comes from the Public Suffix List snapshot bundled with
the `publicsuffixlist` package; it is never fetched from the network.
"""

from __future__ import annotations

import enum
import functools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses

from publicsuffixlist import PublicSuffixList

from tidings.hygiene.dns import DNSLookup, DNSTempError
from tidings.hygiene.headers import tag_list, values

log = logging.getLogger(__name__)


class DMARCResult(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


class Disposition(enum.StrEnum):
    """What the receiver does with the message (RFC 7489 §6.3 p=)."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class DMARCRecord:
    policy: Disposition
    subdomain_policy: Disposition
    adkim_strict: bool
    aspf_strict: bool
    pct: int


@dataclass(frozen=True, slots=True)
class DMARCOutcome:
    result: DMARCResult
    from_domain: str
    disposition: Disposition = Disposition.NONE  # what to apply (after pct sampling)
    policy: str = ""  # the published policy that applied, for the header comment
    reason: str = ""


@functools.cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled snapshot; no network access


def organizational_domain(domain: str) -> str:
    """The registered domain under its public suffix (RFC 7489 §3.2)."""
    domain = domain.lower().rstrip(".")
    found = _suffix_list().privatesuffix(domain)
    return str(found) if found else domain


def is_aligned(identifier: str, from_domain: str, *, strict: bool) -> bool:
    """Identifier alignment (RFC 7489 §3.1.1, §3.1.2)."""
    identifier, from_domain = identifier.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)


def parse_record(text: str) -> DMARCRecord | None:
    """A DMARC record, or None when it is not one or has no valid p= (RFC 7489 §6.6.3)."""
    tags = tag_list(text)
    if tags.get("v") != "DMARC1" or not text.strip().startswith("v"):
        return None
    try:
        policy = Disposition(tags.get("p", "").lower())
    except ValueError:
        return None
    try:
        subdomain = Disposition(tags.get("sp", policy.value).lower())
    except ValueError:
        subdomain = policy
    pct_text = tags.get("pct", "100")
    pct = int(pct_text) if pct_text.isdigit() else 100
    return DMARCRecord(policy, subdomain, tags.get("adkim", "r").lower() == "s",
                       tags.get("aspf", "r").lower() == "s", max(0, min(pct, 100)))


async def _lookup(dns: DNSLookup, domain: str) -> DMARCRecord | None:
    texts = await dns.query(f"_dmarc.{domain}", "TXT")
    records = [r for r in (parse_record(t) for t in texts if t.startswith("v=DMARC1")) if r]
    return records[0] if len(records) == 1 else None


def from_domain(raw: bytes) -> str | None:
    """The single RFC5322.From domain, or None when there is not exactly one (§6.6.1)."""
    fields = values(raw, "From")
    if len(fields) != 1:
        return None
    addresses = [a for _, a in getaddresses(fields) if "@" in a]
    if len(addresses) != 1:
        return None
    return addresses[0].rpartition("@")[2].lower().rstrip(".") or None


async def evaluate(
    dns: DNSLookup,
    raw: bytes,
    *,
    spf_pass_domain: str | None,
    dkim_pass_domains: Sequence[str],
    sample: Callable[[], float] = random.random,
) -> DMARCOutcome:
    """The DMARC result and disposition for a message whose SPF and DKIM are known.

    `spf_pass_domain` is the SPF-checked domain if SPF passed, `dkim_pass_domains`
    the d= of passing signatures; `sample` returns [0, 1) for pct sampling.
    """
    domain = from_domain(raw)
    if domain is None:
        return DMARCOutcome(DMARCResult.PERMERROR, "", reason="not exactly one From address")
    org = organizational_domain(domain)
    try:
        record = await _lookup(dns, domain)
        at_org = False
        if record is None and org != domain:
            record, at_org = await _lookup(dns, org), True
    except DNSTempError:
        return DMARCOutcome(DMARCResult.TEMPERROR, domain)
    if record is None:
        return DMARCOutcome(DMARCResult.NONE, domain)
    dkim_ok = any(is_aligned(d, domain, strict=record.adkim_strict) for d in dkim_pass_domains)
    spf_ok = spf_pass_domain is not None and is_aligned(
        spf_pass_domain, domain, strict=record.aspf_strict
    )
    policy = record.subdomain_policy if at_org else record.policy
    if dkim_ok or spf_ok:
        return DMARCOutcome(DMARCResult.PASS, domain, policy=policy.value)
    # RFC 7489 §6.6.4: pct applies the policy to a sample; the rest get the next
    # lower policy (quarantine -> none, reject -> quarantine).
    applied = policy
    if record.pct < 100 and sample() * 100 >= record.pct:
        applied = (Disposition.QUARANTINE if policy is Disposition.REJECT
                   else Disposition.NONE)
    log.info("hygiene.dmarc result=fail from_domain=%s policy=%s applied=%s", domain,
             policy, applied)
    return DMARCOutcome(DMARCResult.FAIL, domain, applied, policy.value,
                        reason="no aligned SPF or DKIM pass")
