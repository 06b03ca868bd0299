"""RFC 2047 encoded words ("=?charset?Q?...?=") and the B / Q decoders.

Lenient like common mail clients: words glued to text are decoded too, adjacent words
in one charset are joined before decoding (multi-byte characters split across words),
and bad charsets or encodings degrade to replacement characters.
"""

from __future__ import annotations

import binascii
import re

from tidings.mime.charset import decode_bytes

_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BLANK = re.compile(rb"[ \t\r\n]*")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def decode_q(text: bytes) -> bytes:
    """RFC 2047 §4.2 "Q": "_" is a space, "=XX" a byte; a stray "=" stays literal."""
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.replace(b"_", b" "))


def decode_b(text: bytes) -> bytes:
    """RFC 2047 §4.1 "B" (base64), tolerant of junk characters and bad padding."""
    clean = _B64_JUNK.sub(b"", text)
    if len(clean) % 4 == 1:
        clean = clean[:-1]  # a lone sextet cannot hold a byte
    clean += b"=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean)
    except (binascii.Error, ValueError):
        return b""


def decode_encoded_words(value: str) -> str:
    """Decode every encoded word in an (unfolded) header value; never raises."""
    if "=?" not in value:
        return value
    data = value.encode("utf-8", errors="surrogatepass")
    pieces: list[str] = []
    pending_charset: str | None = None
    pending: list[bytes] = []
    pos = 0
    for match in _WORD.finditer(data):
        gap = data[pos : match.start()]
        adjacent = pending_charset is not None and _BLANK.fullmatch(gap) is not None
        if not adjacent:
            if pending_charset is not None:
                pieces.append(decode_bytes(b"".join(pending), pending_charset))
                pending_charset, pending = None, []
            pieces.append(gap.decode("utf-8", errors="replace"))
        charset = match.group(1).decode("ascii", errors="replace").lower()
        payload = match.group(3)
        decoded = decode_b(payload) if match.group(2) in (b"b", b"B") else decode_q(payload)
        if pending_charset is not None and charset != pending_charset:
            pieces.append(decode_bytes(b"".join(pending), pending_charset))
            pending = []
        pending_charset = charset
        pending.append(decoded)
        pos = match.end()
    if pending_charset is not None:
        pieces.append(decode_bytes(b"".join(pending), pending_charset))
    pieces.append(data[pos:].decode("utf-8", errors="replace"))
    return "".join(pieces)


def encode_word(text: str, charset: str = "utf-8") -> str:
    """Encode `text` as RFC 2047 "B" words of at most 75 characters each, space-separated."""
    words: list[str] = []
    chunk = ""
    for char in text:
        # 45 raw bytes become 60 base64 characters: "=?utf-8?B?" + 60 + "?=" = 72 <= 75.
        if len((chunk + char).encode(charset, errors="replace")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk or not words:
        words.append(chunk)
    encoded = (
        binascii.b2a_base64(w.encode(charset, errors="replace"), newline=False).decode("ascii")
        for w in words
    )
    return " ".join(f"=?{charset}?B?{e}?=" for e in encoded)
