"""One table from domain errors to SMTP replies (RFC 5321 §4.2.2, RFC 3463 codes)."""

from __future__ import annotations

import enum

from tidings.model.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRejection,
    QuotaExceeded,
    TemporaryFailure,
    TidingsError,
)
from tidings.smtp import responses as r
from tidings.smtp.responses import Reply

# Enhanced codes whose basic code is 552 rather than 550 (RFC 5321 §4.2.3, RFC 1870).
_STORAGE_CODES = frozenset({"5.2.2", "5.2.3", "5.3.4"})
# Temporary enhanced codes answered 452 (insufficient storage) rather than 451.
_TEMP_STORAGE_CODES = frozenset({"4.2.2", "4.3.1", "4.5.3"})


class Stage(enum.Enum):
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    AUTH = "auth"


def reply_for(error: TidingsError, stage: Stage, subject: str = "") -> Reply:
    """The reply for a service error at a stage; `subject` names the address involved."""
    about = f" <{subject}>" if subject else ""
    match error:
        case PolicyRejection():
            return policy_reply(error)
        case NotFound() if stage is Stage.RCPT:
            return Reply.of(550, "5.1.1", f"No such user here{about}")
        case NotFound():
            return Reply.of(550, "5.1.0", f"Address not found{about}")
        case PermissionDenied() if stage is Stage.RCPT:
            return Reply.of(550, "5.2.1", f"Mailbox disabled, not accepting messages{about}")
        case PermissionDenied():
            return Reply.of(550, "5.7.1", f"Not allowed: {error}")
        case QuotaExceeded() if stage is Stage.RCPT:
            return Reply.of(452, "4.2.2", f"Mailbox full{about}; please try again later")
        case QuotaExceeded():
            return Reply.of(552, "5.2.2", "Mailbox full; the message does not fit the quota")
        case AuthenticationFailed(throttled=True):
            return Reply.of(454, "4.7.0", "Too many failed attempts; try again later")
        case AuthenticationFailed():
            return r.AUTH_FAILED
        case InvalidInput() if stage is Stage.AUTH:
            return Reply.of(504, "5.5.4", "Unrecognised authentication mechanism")
        case InvalidInput():
            return Reply.of(550, "5.6.0", f"Message refused: {error}")
        case TemporaryFailure() | Conflict():
            return r.TEMPORARY_FAILURE
    return r.TEMPORARY_FAILURE


def policy_reply(error: PolicyRejection) -> Reply:
    """A stage's verdict: its enhanced code picks 550/552 or 451/452."""
    enhanced = error.enhanced_code
    if error.permanent:
        if not enhanced.startswith("5."):
            enhanced = "5.7.1"
        basic = 552 if enhanced in _STORAGE_CODES else 550
        if error.code is not None and 550 <= error.code <= 554:
            basic = error.code  # the stage's own choice, e.g. 554 for a virus
        return Reply.of(basic, enhanced, error.text)
    if not enhanced.startswith("4."):
        enhanced = "4.7.0"
    return Reply.of(452 if enhanced in _TEMP_STORAGE_CODES else 451, enhanced, error.text)
