"""POP3 replies: typed values -> bytes (RFC 1939 §3), with response codes
(RFC 2449 §8, RFC 3206) and dot-stuffed multi-line bodies."""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable
from dataclasses import dataclass

MAX_TEXT = 200  # keeps a status line far under RFC 2449's 512 octets


class ResponseCode(enum.StrEnum):
    """Extended response codes, sent in brackets after -ERR."""

    IN_USE = "IN-USE"  # RFC 2449 §8.1.1: the maildrop is locked by another session
    LOGIN_DELAY = "LOGIN-DELAY"  # RFC 2449 §8.1.2: try again later
    SYS_TEMP = "SYS/TEMP"  # RFC 3206 §4: a transient server problem
    SYS_PERM = "SYS/PERM"  # RFC 3206 §4: a permanent server problem
    AUTH = "AUTH"  # RFC 3206 §5: the credentials were not accepted


def _clean(text: str) -> str:
    """One safe line: no CR, LF or control characters (reply injection), bounded."""
    flat = "".join(" " if ch < " " or ch == "\x7f" else ch for ch in text)
    return flat[:MAX_TEXT]


def to_crlf(data: bytes) -> bytes:
    """Every line end becomes CRLF on the wire (bare LF from stored messages)."""
    if b"\n" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def dot_stuff(data: bytes) -> bytes:
    """A multi-line body as sent: CRLF line ends, a "." doubled at each line start
    (RFC 1939 §3), a final CRLF, then the terminating ".\\r\\n"."""
    body = to_crlf(data)
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    if body.startswith(b"."):
        body = b"." + body
    body = body.replace(b"\r\n.", b"\r\n..")
    return body + b".\r\n"


def top_of(message: bytes, lines: int) -> bytes:
    """The header, the blank line and the first `lines` body lines (RFC 1939 §7 TOP)."""
    data = to_crlf(message)
    if data.startswith(b"\r\n"):
        header_end = 0
    else:
        split = data.find(b"\r\n\r\n")
        if split < 0:
            return data  # no body at all: the whole message is header
        header_end = split + 2
    head, body = data[: header_end + 2], data[header_end + 2 :]
    end = 0
    for _ in range(lines):
        found = body.find(b"\r\n", end)
        if found < 0:
            return data  # fewer body lines than asked for: the whole message
        end = found + 2
    return head + body[:end]


@dataclass(frozen=True, slots=True)
class Reply:
    """A status line, optionally followed by a multi-line body (already raw bytes)."""

    ok: bool
    text: str = ""
    code: ResponseCode | None = None
    body: bytes | None = None  # set: a multi-line reply; dot-stuffed on encode
    closes: bool = False  # the server closes the connection after sending it

    def encode(self) -> bytes:
        status = "+OK" if self.ok else "-ERR"
        parts = [status]
        if self.code is not None:
            parts.append(f"[{self.code.value}]")
        if self.text:
            parts.append(_clean(self.text))
        line = (" ".join(parts) + "\r\n").encode("utf-8", "replace")
        if self.body is None:
            return line
        return line + dot_stuff(self.body)


def ok(text: str = "", *, closes: bool = False) -> Reply:
    return Reply(True, text, closes=closes)


def err(text: str, code: ResponseCode | None = None, *, closes: bool = False) -> Reply:
    return Reply(False, text, code, closes=closes)


def multiline(text: str, lines: Iterable[str]) -> Reply:
    """+OK with a body of short text lines (LIST, UIDL, CAPA)."""
    body = "".join(f"{_clean(line)}\r\n" for line in lines).encode("utf-8", "replace")
    return Reply(True, text, body=body)


@dataclass(frozen=True, slots=True)
class Continuation:
    """A SASL challenge: "+ " and the base64 data (RFC 5034 §4)."""

    data: bytes

    closes: bool = False

    def encode(self) -> bytes:
        return b"+ " + base64.b64encode(self.data) + b"\r\n"


Response = Reply | Continuation
