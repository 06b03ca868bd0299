"""What the store indexes about a message: decoded header fields, base subject and
searchable text, as the shared `model.mail.ParsedHeaders`."""

from __future__ import annotations

from tidings.mime.headers import Headers, parse_date
from tidings.mime.structure import parse_message
from tidings.mime.subject import base_subject
from tidings.mime.text import DEFAULT_MAX_CHARS, extract_text
from tidings.model.mail import ParsedHeaders


def _decoded(headers: Headers, name: str) -> str:
    return ", ".join(field.decoded for field in headers.all(name) if field.value)


def _ids(headers: Headers, name: str) -> str:
    """Message-id lists (RFC 5322 §3.6.4) with whitespace normalised to single spaces."""
    value = headers.get(name)
    return " ".join(value.split()) if value else ""


def parse_headers_for_store(raw: bytes, max_text_chars: int = DEFAULT_MAX_CHARS) -> ParsedHeaders:
    """Summarise a raw message for the store; never raises."""
    root = parse_message(raw)
    headers = root.headers
    subject = headers.get_decoded("subject") or ""
    return ParsedHeaders(
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
