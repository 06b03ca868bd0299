"""The Received: trace field (RFC 5321 §4.4, RFC 5322 §3.6.7) with the "with"
protocol names of RFC 3848 (ESMTPS, ESMTPA, ESMTPSA)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

# What may appear as the client's EHLO name: anything else is replaced, so a hostile
# name cannot add comments or fake clauses to our trace field.
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-\[\]:_]")


@dataclass(frozen=True, slots=True)
class ReceivedInfo:
    """Facts about the incoming connection for the trace field."""

    ehlo_name: str
    peer_host: str
    protocol: str  # SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (RFC 3848)
    reverse_name: str | None = None


def new_message_id() -> str:
    """A short id for logs, the Received "id" clause and the 250 reply."""
    return secrets.token_hex(8).upper()


def _safe(name: str) -> str:
    return _UNSAFE.sub("?", name)[:255] or "unknown"


def received_clauses(
    info: ReceivedInfo, *, hostname: str, queue_id: str, recipient: str | None, now: datetime
) -> list[str]:
    """The clauses of the field value; `recipient` is given only for a single recipient."""
    peer = f"[{info.peer_host}]" if info.peer_host else "[unknown]"
    if info.reverse_name:
        peer = f"{_safe(info.reverse_name)} {peer}"
    parts = [
        f"from {_safe(info.ehlo_name)} ({peer})",
        f"by {hostname} (Tidings) with {info.protocol} id {queue_id}",
    ]
    if recipient is not None and recipient.isascii():
        parts.append(f"for <{recipient}>")
    parts[-1] += ";"
    parts.append(format_datetime(now))
    return parts


def received_header(
    info: ReceivedInfo, *, hostname: str, queue_id: str, recipient: str | None, now: datetime
) -> bytes:
    """The `Received:` field, one clause per line (folded with TAB), ending in CRLF."""
    clauses = received_clauses(
        info, hostname=hostname, queue_id=queue_id, recipient=recipient, now=now
    )
    return ("Received: " + "\r\n\t".join(clauses) + "\r\n").encode("ascii", "replace")
