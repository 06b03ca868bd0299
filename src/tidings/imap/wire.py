"""Encoding of IMAP data values (RFC 9051 §4): atoms, numbers, strings, literals, NIL, lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_ASTRING_SAFE = frozenset(
    b"!#$&'+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz|}~"
)
_QUOTED_LIMIT = 1024  # longer strings go as literals so lines stay short


@dataclass(frozen=True, slots=True)
class Atom:
    """Text written as-is (flags, item names, keywords the grammar defines)."""

    text: str


@dataclass(frozen=True, slots=True)
class Literal8:
    """Binary data sent as literal8 `~{n}` (RFC 3516)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes that are already encoded (a sequence set, a nested structure)."""

    data: bytes


Value = None | int | str | bytes | Atom | Literal8 | Raw | Sequence["Value"]


def encode_string(data: bytes | str) -> bytes:
    """A string as quoted when that is safe (7-bit, no CR/LF/NUL, short), else a literal."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) <= _QUOTED_LIMIT and all(0x20 <= b < 0x7F for b in raw):
        return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d}\r\n" % len(raw) + raw


def encode_astring(text: str) -> bytes:
    """An astring: a bare atom when every character allows it, else a string."""
    raw = text.encode("utf-8")
    if raw and all(b in _ASTRING_SAFE for b in raw) and raw.upper() != b"NIL":
        return raw
    return encode_string(raw)


def encode_value(value: Value) -> bytes:
    """Any data value; lists are parenthesised and space-separated."""
    if value is None:
        return b"NIL"
    if isinstance(value, bool):
        raise TypeError("booleans have no IMAP form")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, str | bytes):
        return encode_string(value)
    if isinstance(value, Atom):
        return value.text.encode("utf-8")
    if isinstance(value, Literal8):
        return b"~{%d}\r\n" % len(value.data) + value.data
    if isinstance(value, Raw):
        return value.data
    return b"(" + b" ".join(encode_value(item) for item in value) + b")"
