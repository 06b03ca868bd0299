"""Incremental IMAP command parser (RFC 9051 §6, §9): bytes in, typed commands out.

Sans-I/O: feed bytes with `receive_data`, then call `next_event` until it returns
NEED_DATA. A synchronising literal yields ContinueRequest (send "+ ..."); a syntax
error yields Malformed and the parser resynchronises at the next command.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from tidings.imap import commands_model as m
from tidings.imap.framing import (
    NEED_DATA,
    ContinueRequest,
    Frame,
    FrameError,
    Framer,
    Limits,
    NeedData,
)
from tidings.imap.grammar_commands import COMMANDS, UID_COMMANDS
from tidings.imap.lexer import Cursor, ParseError

__all__ = [
    "NEED_DATA",
    "ContinueRequest",
    "IMAPParser",
    "Limits",
    "Malformed",
    "NeedData",
    "ParserEvent",
    "parse_frame",
]

_TAG_STOPS = frozenset(b'(){ %*"\\+')


@dataclass(frozen=True, slots=True)
class Malformed:
    """A command the session must answer with BAD (or a line it cannot use)."""

    tag: str | None
    reason: str
    code: str | None = None


ParserEvent = m.Command | m.IdleDone | m.SASLResponse | Malformed | ContinueRequest | NeedData


class IMAPParser:
    """Frames and parses client input; `expect_line` switches to IDLE/SASL lines."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._framer = Framer(self.limits)
        self._line_mode: str | None = None  # "idle" or "sasl"

    def receive_data(self, data: bytes) -> None:
        self._framer.feed(data)

    def take_buffer(self) -> bytes:
        """Unparsed bytes, removed (STARTTLS discards them, COMPRESS inflates them)."""
        return self._framer.take_buffer()

    @property
    def has_buffered(self) -> bool:
        return self._framer.buffered > 0

    def expect_line(self, mode: str) -> None:
        """The next input is one "idle" (DONE) or "sasl" (base64) line."""
        self._line_mode = mode

    def next_event(self) -> ParserEvent:
        if self._line_mode is not None:
            return self._next_line_event()
        step = self._framer.next_frame()
        if isinstance(step, Frame):
            return parse_frame(step, self.limits.max_depth)
        if isinstance(step, FrameError):
            return Malformed(step.tag, step.reason, step.code)
        return step

    def _next_line_event(self) -> ParserEvent:
        line = self._framer.next_line()
        if line is NEED_DATA:
            return NEED_DATA
        mode, self._line_mode = self._line_mode, None
        if isinstance(line, FrameError):
            return Malformed(None, line.reason, line.code)
        assert isinstance(line, bytes)
        if mode == "idle":
            if line.strip().upper() == b"DONE":
                return m.IdleDone()
            return Malformed(None, "Expected DONE to end IDLE")
        if line.strip() == b"*":
            return m.SASLResponse(b"", cancelled=True)
        try:
            return m.SASLResponse(binascii.a2b_base64(line.strip(), strict_mode=True))
        except binascii.Error:
            return Malformed(None, "Invalid base64 in SASL response")


def parse_frame(frame: Frame, max_depth: int = 32) -> m.Command | Malformed:
    """Parse one complete framed command; never raises."""
    cur = Cursor(frame.pieces, max_depth)
    tag = _tag(cur)
    if tag is None:
        return Malformed(None, "Missing or invalid tag")
    try:
        cur.sp()
        name = cur.word()
        table = COMMANDS
        if name == "UID":
            cur.sp()
            name = cur.word()
            table = UID_COMMANDS
        handler = table.get(name)
        if handler is None:
            return Malformed(tag, f"Unknown command {name[:40]}")
        command = handler(cur, tag)
        cur.end()
        return command
    except ParseError as exc:
        return Malformed(tag, str(exc))
    except RecursionError:
        return Malformed(tag, "Nesting too deep")


def _tag(cur: Cursor) -> str | None:
    raw = cur.run_until(b" ")
    if (
        not raw
        or len(raw) > 64
        or any(ord(c) in _TAG_STOPS or ord(c) < 0x21 or ord(c) > 0x7E for c in raw)
    ):
        return None
    return raw
