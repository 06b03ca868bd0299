"""Typed values exchanged between the pure SMTP session and its command layer:
the envelope (transaction state), requests the session cannot decide alone, and
the outcomes the command layer hands back."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tidings.model.directory import Principal
from tidings.smtp.address import Address
from tidings.smtp.params import MailParams, RcptParams
from tidings.smtp.responses import Reply


class ListenerKind(enum.StrEnum):
    MX = "smtp"  # port 25: mail for local domains only, no AUTH
    SUBMISSION = "submission"  # port 587: STARTTLS, AUTH required
    SUBMISSIONS = "submissions"  # port 465: implicit TLS, AUTH required (RFC 8314)

    @property
    def is_submission(self) -> bool:
        return self is not ListenerKind.MX


@dataclass(frozen=True, slots=True)
class EnvelopeRecipient:
    address: Address
    params: RcptParams
    # What the command layer resolved at RCPT time (e.g. local accounts); opaque here.
    resolved: object = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """One mail transaction: reset by RSET, HELO/EHLO and after the message."""

    sender: Address | None  # None: the null reverse-path <>
    params: MailParams
    recipients: tuple[EnvelopeRecipient, ...] = ()

    @property
    def sender_text(self) -> str:
        return "" if self.sender is None else str(self.sender)


@dataclass(frozen=True, slots=True)
class Trace:
    """What the Received: header and the logs say about the connection."""

    ehlo_name: str
    peer_host: str
    protocol: str  # RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA
    tls: bool
    principal: Principal | None
    session_id: str = ""


@dataclass(slots=True)
class ConnectionState:
    """Lives as long as the connection (minus what STARTTLS resets, RFC 3207 §4.2)."""

    tls: bool
    loopback: bool
    peer_host: str
    ehlo_name: str | None = None
    esmtp: bool = False
    principal: Principal | None = None
    bad_commands: int = 0
    junk_commands: int = 0
    messages: int = 0
    session_id: str = ""

    @property
    def protocol(self) -> str:
        if not self.esmtp:
            return "SMTP"
        return "ESMTP" + ("S" if self.tls else "") + ("A" if self.principal else "")

    def trace(self) -> Trace:
        return Trace(
            self.ehlo_name or "",
            self.peer_host,
            self.protocol,
            self.tls,
            self.principal,
            self.session_id,
        )


# --- requests: the session asks, the command layer answers -------------------------


@dataclass(frozen=True, slots=True)
class CheckSender:
    """MAIL FROM: may this sender start a transaction here?"""

    sender: Address | None
    params: MailParams
    trace: Trace

    @property
    def sender_text(self) -> str:
        return "" if self.sender is None else str(self.sender)


@dataclass(frozen=True, slots=True)
class CheckRecipient:
    """RCPT TO: does the recipient exist, may we take mail for it?"""

    recipient: Address
    params: RcptParams
    envelope: Envelope
    trace: Trace


@dataclass(frozen=True, slots=True)
class DeliverMessage:
    """The message is complete; reply 250 only once it is durable."""

    envelope: Envelope
    content: bytes
    trace: Trace


@dataclass(frozen=True, slots=True)
class AuthStart:
    mechanism: str
    initial_response: bytes | None  # decoded; None when absent


@dataclass(frozen=True, slots=True)
class AuthResponse:
    data: bytes  # decoded client response


@dataclass(frozen=True, slots=True)
class BeginTLS:
    """Send the 220, then upgrade the stream and call `tls_established()`."""


Request = CheckSender | CheckRecipient | DeliverMessage | AuthStart | AuthResponse | BeginTLS


# --- outcomes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    text: str = ""
    payload: object = None


@dataclass(frozen=True, slots=True)
class Refused:
    reply: Reply


@dataclass(frozen=True, slots=True)
class AuthChallenge:
    data: bytes


@dataclass(frozen=True, slots=True)
class AuthSucceeded:
    principal: Principal


Outcome = Accepted | Refused | AuthChallenge | AuthSucceeded
