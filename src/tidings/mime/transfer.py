"""Content-Transfer-Encoding decoders (RFC 2045 §6): base64 and quoted-printable.

Both are lenient: junk characters, broken padding, lower-case hex and stray "=" are
tolerated the way common mail clients tolerate them, and nothing raises.
"""

from __future__ import annotations

import binascii
import re

IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary", ""})
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_QP_ESCAPE = re.compile(rb"=(?:\r?\n|([0-9A-Fa-f]{2}))")


def decode_base64(data: bytes) -> bytes:
    """RFC 2045 §6.8, leniently: ignore characters outside the alphabet, stop at the
    first "=" (the RFC lets a decoder take padding as the end of the data), and drop
    a trailing lone sextet that cannot hold a byte."""
    body = _B64_JUNK.sub(b"", data).split(b"=", 1)[0]
    if len(body) % 4 == 1:
        body = body[:-1]
    body += b"=" * (-len(body) % 4)
    try:
        return binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
        return b""


def decode_quoted_printable(data: bytes) -> bytes:
    """RFC 2045 §6.7: drop trailing blanks (rule 3), join soft line breaks (rule 5),
    decode "=XX"; an "=" that starts neither stays literal."""
    # Line by line, not a regex: "[ \t]+(?=\n)" is quadratic on long runs of blanks.
    lines = []
    for line in data.split(b"\n"):
        cr = line.endswith(b"\r")
        lines.append((line[:-1] if cr else line).rstrip(b" \t") + (b"\r" if cr else b""))
    stripped = b"\n".join(lines)
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"", stripped)


def decode_transfer(data: bytes, encoding: str) -> bytes | None:
    """Decode a body in its transfer encoding; None when the encoding is unknown."""
    name = encoding.lower()
    if name in IDENTITY_ENCODINGS:
        return data
    if name == "base64":
        return decode_base64(data)
    if name == "quoted-printable":
        return decode_quoted_printable(data)
    return None
