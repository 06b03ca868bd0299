"""The shared, typed record of what the hygiene stages learned about one message.

Stages run in order on one `StageInput` (delivery/stages.py); an earlier stage
(SPF/DKIM/DMARC/ARC/DNSBL) writes its results here and a later one (spam scoring)
reads them. `context_for(message)` returns the same `MessageContext` for the same
`StageInput` object within one pipeline run: it is kept in a contextvar keyed by
the object's identity, so no change to the stage signature is needed and two
messages never share a context.
"""

from __future__ import annotations

import enum
from contextvars import ContextVar
from dataclasses import dataclass, field

from tidings.delivery.stages import StageInput
from tidings.hygiene.spam.facts import MessageFacts


class AuthStatus(enum.StrEnum):
    """RFC 8601 §2.7 result words shared by SPF, DKIM, DMARC and ARC."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    POLICY = "policy"


@dataclass(slots=True)
class SpamSummary:
    """What the spam stage decided, for later stages and logs."""

    score: float
    action: str  # "deliver", "junk", "quarantine", "reject"
    rules: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class MessageContext:
    """Mutable per-message results; None means "not checked" (stage off or skipped)."""

    spf: AuthStatus | None = None
    spf_domain: str = ""
    dkim: AuthStatus | None = None  # the best signature result
    dkim_domains: tuple[str, ...] = ()  # d= of the signatures that passed
    dmarc: AuthStatus | None = None
    dmarc_policy: str = ""  # "none", "quarantine", "reject" (RFC 7489 §6.3 p=)
    arc: AuthStatus | None = None
    # DNSBL zones that list the connecting IP, and DNSWL zones that vouch for it.
    dnsbl_listed: tuple[str, ...] = ()
    dnswl_listed: tuple[str, ...] = ()
    authentication_results: str = ""  # the header value the auth stage added
    spam: SpamSummary | None = None
    virus: str | None = None  # the signature name when antivirus found one
    notes: dict[str, str] = field(default_factory=dict)  # free-form, for logs
    # The message parsed once for the content stages (antivirus, spam); see spam/facts.py.
    facts: MessageFacts | None = None


_current: ContextVar[tuple[StageInput, MessageContext] | None] = ContextVar(
    "tidings_hygiene_message_context", default=None
)


def context_for(message: StageInput) -> MessageContext:
    """The context of this message, created on first use within the pipeline run."""
    held = _current.get()
    if held is not None and held[0] is message:
        return held[1]
    context = MessageContext()
    _current.set((message, context))
    return context


def peek_context(message: StageInput) -> MessageContext | None:
    """The context if an earlier stage made one for this message, else None."""
    held = _current.get()
    return held[1] if held is not None and held[0] is message else None
