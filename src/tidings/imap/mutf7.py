"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3); raw UTF-8 once UTF8=ACCEPT is on."""

from __future__ import annotations

import base64
import binascii


def encode_mutf7(name: str) -> str:
    """Encode a Unicode mailbox name for a client that has not enabled UTF8=ACCEPT."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be", "surrogatepass")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ","))
            out.append("-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_mutf7(name: str) -> str:
    """Decode a modified UTF-7 name. Raises ValueError when it is not well formed."""
    out: list[str] = []
    index = 0
    while index < len(name):
        char = name[index]
        if ord(char) > 0x7E or ord(char) < 0x20:
            raise ValueError("8-bit or control character in a modified UTF-7 name")
        if char != "&":
            out.append(char)
            index += 1
            continue
        end = name.find("-", index)
        if end < 0:
            raise ValueError("unterminated shift sequence")
        chunk = name[index + 1 : end]
        index = end + 1
        if not chunk:
            out.append("&")
            continue
        out.append(_decode_chunk(chunk))
    return "".join(out)


def _decode_chunk(chunk: str) -> str:
    text = chunk.replace(",", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
        decoded = raw.decode("utf-16-be")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("bad base64 in modified UTF-7") from exc
    if len(raw) % 2 or any(0x20 <= ord(c) <= 0x7E for c in decoded):
        # RFC 3501 §5.1.3: printable ASCII must represent itself, never be encoded.
        raise ValueError("non-canonical modified UTF-7")
    return decoded


def encode_name(name: str, utf8: bool) -> str:
    return name if utf8 else encode_mutf7(name)


def decode_name(name: str, utf8: bool) -> str:
    """A wire mailbox name as Unicode. Under UTF8=ACCEPT names are UTF-8 already, but a
    client may still send modified UTF-7 (RFC 6855 §3), which we accept when valid."""
    if utf8 and not name.isascii():
        return name
    try:
        return decode_mutf7(name)
    except ValueError:
        if utf8:
            return name
        raise
