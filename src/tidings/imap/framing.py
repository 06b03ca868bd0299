"""Incremental framing of IMAP client input: lines and literals (RFC 9051 §4.3,
RFC 7888 LITERAL+/LITERAL-, RFC 3516 literal8), with size limits and resync."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

# A literal announcement closes a line: "{12}", "{12+}", "{12-}" or "~{12}".
_LITERAL_AT_END = re.compile(rb"(~?)\{(\d{1,20})([+-]?)\}$")


@dataclass(frozen=True, slots=True)
class Limits:
    """Edge limits (ARCHITECTURE.md rule 7); `max_literal` is also APPENDLIMIT."""

    max_line: int = 65536
    max_literal: int = 64 * 1024 * 1024  # APPEND only
    max_other_literal: int = 64 * 1024  # literals of every other command (LOGIN, SEARCH...)
    max_command: int = 256 * 1024 * 1024  # all pieces of one command together
    max_depth: int = 32  # parenthesis nesting in one command


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete command: `pieces` alternate line, literal, line, literal, ..., line."""

    pieces: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class FrameError:
    tag: str | None
    reason: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ContinueRequest:
    """The session must send "+ Ready": a synchronising literal was announced."""

    text: str = "Ready for literal data"


class _NeedData(enum.Enum):
    NEED_DATA = "need-data"


NEED_DATA = _NeedData.NEED_DATA
NeedData = _NeedData


def literal_marker(line: bytes) -> tuple[int, bool, bool] | None:
    """(size, synchronising, binary) when `line` ends with a literal announcement."""
    match = _LITERAL_AT_END.search(line)
    if match is None:
        return None
    return int(match.group(2)), match.group(3) == b"", match.group(1) == b"~"


def carries_messages(line: bytes) -> bool:
    """Whether a command's first line is APPEND, whose literals may be messages."""
    words = line.split(b" ", 3)
    return len(words) > 1 and words[1].upper() == b"APPEND"


def first_token(line: bytes) -> str | None:
    """The tag of a command line, if it has one that looks like a tag."""
    token = line.split(b" ", 1)[0]
    if not token or len(token) > 64:
        return None
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        return None


@dataclass(slots=True)
class Framer:
    """Buffers bytes; hands out whole commands, single lines, or what it needs."""

    limits: Limits = field(default_factory=Limits)
    _buffer: bytearray = field(default_factory=bytearray)
    _pieces: list[bytes] = field(default_factory=list)
    _size: int = 0
    _literal: int | None = None  # bytes still expected for the current literal
    _discard: int = 0  # literal bytes to drop after an error
    _skip_line: bool = False  # drop input up to the end of the current command

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def take_buffer(self) -> bytes:
        """Remove and return unparsed bytes (STARTTLS must discard them, COMPRESS
        must inflate them)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def next_line(self) -> bytes | FrameError | NeedData:
        """One raw line without its CRLF (IDLE's DONE, SASL responses)."""
        index = self._buffer.find(b"\n")
        if index < 0:
            if len(self._buffer) > self.limits.max_line:
                self._buffer.clear()
                self._skip_line = True
                return FrameError(None, "Line too long")
            return NEED_DATA
        line = bytes(self._buffer[:index]).removesuffix(b"\r")
        del self._buffer[: index + 1]
        return line

    def next_frame(self) -> Frame | FrameError | ContinueRequest | NeedData:
        """The next complete command, an error (already resynchronised), a request
        to send a continuation, or NEED_DATA."""
        while True:
            if self._discard:
                dropped = min(self._discard, len(self._buffer))
                del self._buffer[:dropped]
                self._discard -= dropped
                if self._discard:
                    return NEED_DATA
            if self._literal is not None:
                if len(self._buffer) < self._literal:
                    return NEED_DATA
                self._pieces.append(bytes(self._buffer[: self._literal]))
                del self._buffer[: self._literal]
                self._literal = None
            step = self._next_command_line()
            if step is not None:
                return step

    def _next_command_line(self) -> Frame | FrameError | ContinueRequest | NeedData | None:
        index = self._buffer.find(b"\n")
        if index < 0:
            if len(self._buffer) > self.limits.max_line:
                return self._fail_long_line()
            return NEED_DATA
        line = bytes(self._buffer[:index]).removesuffix(b"\r")
        del self._buffer[: index + 1]
        if len(line) > self.limits.max_line:
            return self._fail(line, "Line too long", "TOOBIG")
        marker = literal_marker(line)
        if self._skip_line:
            self._skip(marker)
            return None
        self._pieces.append(line)
        if marker is None:
            frame = Frame(tuple(self._pieces))
            self._reset()
            return frame
        size, synchronising, _binary = marker
        self._size += size + len(line)
        limit = (self.limits.max_literal if carries_messages(self._pieces[0])
                 else self.limits.max_other_literal)
        if size > limit or self._size > self.limits.max_command:
            error = self._fail(line, f"Literal of {size} octets is over the limit", "TOOBIG")
            if not synchronising:
                # RFC 7888 §4: the client sends it anyway; drop it and the rest of the command.
                self._discard = size
                self._skip_line = True
            return error
        self._literal = size
        return ContinueRequest() if synchronising else None

    def _skip(self, marker: tuple[int, bool, bool] | None) -> None:
        """Drop one line of a failed command, and a non-synchronising literal after it."""
        if marker is not None and not marker[1]:
            self._discard = marker[0]
            return
        self._reset()

    def _fail_long_line(self) -> FrameError:
        tag = first_token(self._pieces[0] if self._pieces else bytes(self._buffer[:80]))
        self._buffer.clear()
        self._reset()
        self._skip_line = True
        return FrameError(tag, "Line too long", "TOOBIG")

    def _fail(self, line: bytes, reason: str, code: str) -> FrameError:
        tag = first_token(self._pieces[0] if self._pieces else line)
        self._reset()
        return FrameError(tag, reason, code)

    def _reset(self) -> None:
        self._pieces = []
        self._size = 0
        self._literal = None
        self._skip_line = False
