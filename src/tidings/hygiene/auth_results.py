"""The Authentication-Results field (RFC 8601 §2.2): one resinfo per method, with the
properties that let a reader see what was checked (smtp.mailfrom, header.d, ...)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tidings.hygiene.dkim_verify import ARCOutcome, SignatureResult
from tidings.hygiene.dmarc import DMARCOutcome
from tidings.hygiene.spf import SPFOutcome

# A property value must be a token or a quoted string; keep only token characters.
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-_@+=/]")


def _value(text: str) -> str:
    return _UNSAFE.sub("", text) or "unknown"


@dataclass(frozen=True, slots=True)
class AuthSummary:
    """Everything the auth stage found, ready to be written in one field."""

    spf: SPFOutcome | None
    spf_identity: str  # "mailfrom" or "helo"
    dkim: Sequence[SignatureResult]
    dmarc: DMARCOutcome | None
    arc: ARCOutcome | None


def _spf(outcome: SPFOutcome, identity: str) -> str:
    prop = "smtp.mailfrom" if identity == "mailfrom" else "smtp.helo"
    return f"spf={outcome.result} {prop}={_value(outcome.domain)}"


def _dkim(signature: SignatureResult) -> str:
    parts = [f"dkim={signature.result}"]
    if signature.reason and signature.result != "pass":
        parts.append(f"({_comment(signature.reason)})")
    parts.append(f"header.d={_value(signature.domain)}")
    parts.append(f"header.s={_value(signature.selector)}")
    if signature.header_b:
        parts.append(f"header.b={_value(signature.header_b)}")
    return " ".join(parts)


def _comment(text: str) -> str:
    return re.sub(r"[()\\\r\n]", " ", text)[:80].strip()


def _dmarc(outcome: DMARCOutcome) -> str:
    comment = f" (p={outcome.policy} dis={outcome.disposition})" if outcome.policy else ""
    return f"dmarc={outcome.result}{comment} header.from={_value(outcome.from_domain)}"


def authentication_results(authserv_id: str, summary: AuthSummary) -> str:
    """The field value: `authserv-id; method=result props; ...` or `; none`."""
    resinfo: list[str] = []
    if summary.spf is not None:
        resinfo.append(_spf(summary.spf, summary.spf_identity))
    if summary.dkim:
        resinfo.extend(_dkim(s) for s in summary.dkim)
    elif summary.spf is not None:
        resinfo.append("dkim=none")
    if summary.dmarc is not None:
        resinfo.append(_dmarc(summary.dmarc))
    if summary.arc is not None:
        resinfo.append(f"arc={summary.arc.result}")
    if not resinfo:
        return f"{authserv_id}; none"
    return f"{authserv_id}; " + "; ".join(resinfo)
