"""What the store indexes about a message: decoded header fields, base subject and
searchable text. `MessageSummary` has the field names of `store.services.ParsedHeaders`
(mime may not import store; the caller converts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tidings.mime.headers import Headers, parse_date
from tidings.mime.structure import parse_message
from tidings.mime.subject import base_subject
from tidings.mime.text import DEFAULT_MAX_CHARS, extract_text


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """Decoded, unfolded header values ("" when absent), the Date as an aware datetime,
    the plain text for full-text search and the RFC 5256 base subject."""

    date: datetime | None
    subject: str
    from_: str
    sender: str
    reply_to: str
    to: str
    cc: str
    bcc: str
    message_id: str
    in_reply_to: str
    references: str
    text: str
    base_subject: str = ""


def _decoded(headers: Headers, name: str) -> str:
    return ", ".join(field.decoded for field in headers.all(name) if field.value)


def _ids(headers: Headers, name: str) -> str:
    """Message-id lists (RFC 5322 §3.6.4) with whitespace normalised to single spaces."""
    value = headers.get(name)
    return " ".join(value.split()) if value else ""


def parse_headers_for_store(raw: bytes, max_text_chars: int = DEFAULT_MAX_CHARS) -> MessageSummary:
    """Summarise a raw message for the store; never raises."""
    root = parse_message(raw)
    headers = root.headers
    subject = headers.get_decoded("subject") or ""
    return MessageSummary(
        date=parse_date(headers.get("date")),
        subject=subject,
        from_=_decoded(headers, "from"),
        sender=_decoded(headers, "sender"),
        reply_to=_decoded(headers, "reply-to"),
        to=_decoded(headers, "to"),
        cc=_decoded(headers, "cc"),
        bcc=_decoded(headers, "bcc"),
        message_id=_ids(headers, "message-id"),
        in_reply_to=_ids(headers, "in-reply-to"),
        references=_ids(headers, "references"),
        text=extract_text(raw, root, max_text_chars),
        base_subject=base_subject(subject),
    )
