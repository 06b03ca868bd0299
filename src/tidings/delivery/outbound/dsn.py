"""Delivery status notifications (RFC 3464 multipart/report, RFC 6522): the bounce
for a permanent failure and the warning for a long delay, with the original header
or the whole original message as RET asks (RFC 3461 §4.3)."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

CRLF = "\r\n"
# Without RET, a failure returns the whole message only up to this size.
MAX_FULL_RETURN_BYTES = 1024 * 1024


class DSNAction(enum.StrEnum):
    """RFC 3464 §2.3.3."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"


@dataclass(frozen=True, slots=True)
class RecipientReport:
    """The per-recipient fields (RFC 3464 §2.3)."""

    address: str
    action: DSNAction
    status: str  # enhanced status code, e.g. "5.1.1"
    diagnostic: str = ""  # the remote's reply, "550 5.1.1 No such user"
    remote_mta: str = ""
    original_recipient: str | None = None  # "rfc822;addr" from ORCPT
    last_attempt: datetime | None = None
    will_retry_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class DSNRequest:
    reporting_mta: str  # our host name
    sender: str  # the original envelope sender, who gets the report
    recipients: tuple[RecipientReport, ...]
    original: bytes
    arrival_date: datetime
    now: datetime
    message_id: str  # "<...>" for the report itself
    envid: str | None = None
    ret: str | None = None  # "FULL", "HDRS" or None (our choice)


def build_dsn(request: DSNRequest) -> bytes:
    """The complete report message, CRLF lines, ready to deliver or queue."""
    if not request.recipients:
        raise ValueError("a DSN needs at least one recipient report")
    delayed = all(r.action is DSNAction.DELAYED for r in request.recipients)
    boundary = f"=_tidings_{secrets.token_hex(12)}"
    subject = (
        "Delivery Status Notification (Delay)" if delayed
        else "Undelivered Mail Returned to Sender"
    )
    header = [
        f"From: Mail Delivery System <MAILER-DAEMON@{request.reporting_mta}>",
        f"To: <{request.sender}>",
        f"Subject: {subject}",
        f"Date: {format_datetime(request.now)}",
        f"Message-ID: {request.message_id}",
        "MIME-Version: 1.0",
        # RFC 3834 §5: marks the report as automatic, so responders do not answer it.
        "Auto-Submitted: auto-replied",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f' boundary="{boundary}"',
    ]
    returned_type, returned = _returned_part(request, delayed)
    parts = [
        _part("text/plain; charset=utf-8", _human_text(request, delayed).encode("utf-8"),
              "8bit"),
        _part("message/delivery-status", _status_fields(request).encode("utf-8"), "7bit"),
        _part(returned_type, returned, "7bit" if returned.isascii() else "8bit"),
    ]
    dash = f"--{boundary}".encode()
    out = [(CRLF.join(header) + CRLF + CRLF).encode()]
    out.append(b"This is a MIME-encapsulated delivery status notification.\r\n\r\n")
    for part in parts:
        out.append(dash + b"\r\n" + part + b"\r\n")
    out.append(dash + b"--\r\n")
    return b"".join(out)


def _part(content_type: str, body: bytes, transfer_encoding: str) -> bytes:
    head = f"Content-Type: {content_type}\r\n"
    if transfer_encoding != "7bit":
        head += f"Content-Transfer-Encoding: {transfer_encoding}\r\n"
    return head.encode() + b"\r\n" + body


def _human_text(request: DSNRequest, delayed: bool) -> str:
    lines = [f"This is the mail system at {request.reporting_mta}.", ""]
    if delayed:
        lines += [
            "Your message has not been delivered yet to the recipients below.",
            "The mail system keeps trying; you do not need to send it again.",
        ]
    else:
        lines += [
            "Your message could not be delivered to the recipients below.",
            "This is a permanent error; the mail system has given up.",
        ]
    lines.append("")
    for r in request.recipients:
        reason = " ".join((r.diagnostic or r.status).split())
        via = f" (reply from {r.remote_mta})" if r.remote_mta else ""
        lines.append(f"<{r.address}>{via}: {reason}")
        if r.will_retry_until is not None:
            lines.append(f"    will retry until {format_datetime(r.will_retry_until)}")
    return CRLF.join(lines) + CRLF


def _status_fields(request: DSNRequest) -> str:
    """The message/delivery-status body: per-message block, then one per recipient."""
    message = [f"Reporting-MTA: dns; {request.reporting_mta}"]
    if request.envid:
        message.append(f"Original-Envelope-Id: {_one_line(request.envid)}")
    message.append(f"Arrival-Date: {format_datetime(request.arrival_date)}")
    blocks = [message]
    for r in request.recipients:
        block = []
        if r.original_recipient:
            block.append(f"Original-Recipient: {_one_line(r.original_recipient)}")
        kind = "rfc822" if r.address.isascii() else "utf-8"
        block += [
            f"Final-Recipient: {kind}; {r.address}",
            f"Action: {r.action.value}",
            f"Status: {r.status}",
        ]
        if r.remote_mta:
            block.append(f"Remote-MTA: dns; {r.remote_mta}")
        if r.diagnostic:
            block.append(f"Diagnostic-Code: smtp; {_one_line(r.diagnostic)}")
        if r.last_attempt is not None:
            block.append(f"Last-Attempt-Date: {format_datetime(r.last_attempt)}")
        if r.will_retry_until is not None:
            block.append(f"Will-Retry-Until: {format_datetime(r.will_retry_until)}")
        blocks.append(block)
    return (CRLF + CRLF).join(CRLF.join(b) for b in blocks) + CRLF


def _returned_part(request: DSNRequest, delayed: bool) -> tuple[str, bytes]:
    """message/rfc822 (the whole message) or text/rfc822-headers, per RET."""
    ret = (request.ret or "").upper()
    full = ret == "FULL" or (
        ret != "HDRS" and not delayed and len(request.original) <= MAX_FULL_RETURN_BYTES
    )
    if full:
        return "message/rfc822", request.original
    return "text/rfc822-headers", header_section(request.original)


def header_section(raw: bytes) -> bytes:
    """The header fields of a message, through the empty line that ends them."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[: end + len(separator)]
    return raw


def _one_line(text: str) -> str:
    """Field values must stay on one line and in ASCII (RFC 3464 §2.1.2)."""
    flat = " ".join(text.split())
    return flat.encode("ascii", "replace").decode("ascii")
