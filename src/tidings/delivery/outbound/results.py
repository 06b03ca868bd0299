"""What one delivery attempt to one recipient came to (RFC 5321 §4.2 reply classes,
RFC 3463 enhanced status codes), independent of how the attempt was made."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"  # the remote host answered 250 after the data
    TEMPORARY = "temporary"  # 4xx, connection failure, DNS timeout: retry later
    PERMANENT = "permanent"  # 5xx, null MX, no such domain: bounce now


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One recipient's result; `code`/`enhanced` are the remote's reply or ours."""

    address: str
    outcome: Outcome
    code: int
    enhanced: str
    text: str
    remote_mta: str = ""  # the host that answered, "" when none did

    @property
    def diagnostic(self) -> str:
        """The reply as one line, for last_error and the DSN Diagnostic-Code."""
        enhanced = f" {self.enhanced}" if self.enhanced else ""
        return f"{self.code}{enhanced} {self.text}".strip()


def outcome_of_code(code: int) -> Outcome:
    """2xx delivered, 5xx permanent, anything else (4xx, odd codes) temporary."""
    if 200 <= code < 300:
        return Outcome.DELIVERED
    if 500 <= code < 600:
        return Outcome.PERMANENT
    return Outcome.TEMPORARY


def enhanced_of(code: int, text: str, default_detail: str = "0.0") -> tuple[str, str]:
    """Split an RFC 2034 enhanced code off a reply text, or derive one from `code`."""
    head, _, rest = text.partition(" ")
    parts = head.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and head[0] in "245":
        return head, rest
    return f"{code // 100}.{default_detail}", text


def result_for(
    address: str, code: int, text: str, remote_mta: str = "", *, detail: str = "0.0"
) -> AttemptResult:
    """An AttemptResult from an SMTP reply code and its text."""
    enhanced, message = enhanced_of(code, " ".join(text.split()), detail)
    return AttemptResult(address, outcome_of_code(code), code, enhanced, message, remote_mta)


def temporary(address: str, text: str, enhanced: str = "4.4.1", code: int = 451) -> AttemptResult:
    """A failure that our side decided is temporary (no route, timeout, connection lost)."""
    return AttemptResult(address, Outcome.TEMPORARY, code, enhanced, text)


def permanent(address: str, text: str, enhanced: str = "5.1.2", code: int = 550) -> AttemptResult:
    """A failure that our side decided is permanent (no such domain, null MX)."""
    return AttemptResult(address, Outcome.PERMANENT, code, enhanced, text)
