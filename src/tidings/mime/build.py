"""Small message builders for delivery: prepend trace and result header fields
(RFC 5321 §4.4 Received, RFC 8601 Authentication-Results) and add a missing Message-ID
or Date (RFC 5322 §3.6), never touching the existing bytes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from email.utils import format_datetime

from tidings.mime.encoded_words import encode_word
from tidings.mime.headers import find_body_start, parse_headers

MAX_LINE = 78  # RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters


def _line_ending(raw: bytes) -> bytes:
    """The message's own line ending, so a prepended field does not mix CRLF and LF."""
    newline = raw.find(b"\n")
    if newline > 0 and raw[newline - 1] == 0x0D:
        return b"\r\n"
    return b"\n" if newline >= 0 else b"\r\n"


def fold(name: str, value: str, line_ending: bytes = b"\r\n") -> bytes:
    """`Name: value` folded at whitespace to about 78 characters, non-ASCII as RFC 2047."""
    if not value.isascii():
        value = encode_word(value)
    lines: list[str] = []
    current = f"{name}:"
    for word in value.split():
        # Fold before a word that would overflow, unless the line holds only the name.
        if len(current) + 1 + len(word) > MAX_LINE and current != f"{name}:":
            lines.append(current)
            current = ""
        current += " " + word
    lines.append(current)
    return line_ending.join(line.encode("ascii", errors="replace") for line in lines) + line_ending


def prepend_header(raw: bytes, name: str, value: str) -> bytes:
    """`raw` with the field `name: value` added on top (trace fields go first)."""
    return fold(name, value, _line_ending(raw)) + raw


def make_message_id(domain: str) -> str:
    """A new globally unique msg-id: `<random@domain>` (RFC 5322 §3.6.4)."""
    return f"<{secrets.token_hex(16)}@{domain}>"


def ensure_message_id_and_date(raw: bytes, domain: str, now: datetime) -> bytes:
    """Add Message-ID and Date fields when the header lacks them (RFC 6409 §8.2-8.3)."""
    body_start, _ = find_body_start(raw)
    headers = parse_headers(raw, 0, body_start)
    added = raw
    if "message-id" not in headers:
        added = prepend_header(added, "Message-ID", make_message_id(domain))
    if "date" not in headers:
        added = prepend_header(added, "Date", format_datetime(now))
    return added
