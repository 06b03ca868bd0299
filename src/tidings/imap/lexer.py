"""A cursor over one framed command: atoms, numbers, strings and lists (RFC 9051 §4, §9)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_LITERAL = re.compile(rb"(~?)\{(\d{1,20})[+-]?\}")

# RFC 9051 §9: atom-specials are ( ) { SP CTL % * " \ ] ; list-wildcards add nothing here.
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
_ASTRING_SPECIALS = frozenset(b'(){ %*"\\')
_LIST_SPECIALS = frozenset(b'(){ "\\')  # list-mailbox allows % * ]


class ParseError(Exception):
    """A syntax error at the cursor; becomes Malformed(tag, reason)."""


def _is_ctl(byte: int) -> bool:
    return byte < 0x20 or byte == 0x7F


def decode_text(raw: bytes) -> str:
    """Client strings are UTF-8 (RFC 9051 §4.3.1); fall back to Latin-1 for 8-bit junk."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Cursor:
    """Reads tokens from the pieces of a Frame; literals are taken whole."""

    def __init__(self, pieces: tuple[bytes, ...], max_depth: int = 32) -> None:
        self._pieces = pieces
        self._index = 0
        self._line = pieces[0]
        self._pos = 0
        self._depth = 0
        self._max_depth = max_depth

    # --- looking ---------------------------------------------------------------
    def peek(self) -> int | None:
        """The next byte of the current line, None at its end."""
        return self._line[self._pos] if self._pos < len(self._line) else None

    def at_end(self) -> bool:
        return self._pos >= len(self._line) and self._index >= len(self._pieces) - 1

    def peek_char(self) -> str:
        byte = self.peek()
        return "" if byte is None else chr(byte)

    # --- single tokens ---------------------------------------------------------
    def expect(self, text: bytes) -> None:
        if self._line[self._pos : self._pos + len(text)] != text:
            shown = text.decode("ascii").replace(" ", "SP")
            raise ParseError(f"Expected {shown} at column {self._pos + 1}")
        self._pos += len(text)

    def sp(self) -> None:
        self.expect(b" ")

    def accept(self, text: bytes) -> bool:
        if self._line[self._pos : self._pos + len(text)] == text:
            self._pos += len(text)
            return True
        return False

    def end(self) -> None:
        if not self.at_end():
            raise ParseError(f"Unexpected text at column {self._pos + 1}")

    def _run(self, specials: frozenset[int]) -> bytes:
        start = self._pos
        line = self._line
        while (
            self._pos < len(line)
            and line[self._pos] not in specials
            and not _is_ctl(line[self._pos])
        ):
            self._pos += 1
        return line[start : self._pos]

    def atom(self) -> str:
        raw = self._run(_ATOM_SPECIALS)
        if not raw:
            raise ParseError(f"Expected an atom at column {self._pos + 1}")
        return decode_text(raw)

    def word(self) -> str:
        """An atom upper-cased: command names, keywords of the grammar."""
        return self.atom().upper()

    def peek_word(self) -> str:
        """The next atom, upper-cased, without consuming it ("" if none)."""
        pos = self._pos
        raw = self._run(_ATOM_SPECIALS)
        self._pos = pos
        return decode_text(raw).upper()

    def number(self, *, nonzero: bool = False, bits: int = 32) -> int:
        start = self._pos
        while self._pos < len(self._line) and 0x30 <= self._line[self._pos] <= 0x39:
            self._pos += 1
        digits = self._line[start : self._pos]
        if not digits or len(digits) > 20:
            raise ParseError(f"Expected a number at column {start + 1}")
        value = int(digits)
        if value >= 1 << bits or (nonzero and value == 0):
            raise ParseError(f"Number out of range at column {start + 1}")
        return value

    def quoted_bytes(self) -> bytes:
        self.expect(b'"')
        out = bytearray()
        line = self._line
        while self._pos < len(line):
            byte = line[self._pos]
            self._pos += 1
            if byte == 0x22:
                return bytes(out)
            if byte == 0x5C:
                if self._pos >= len(line) or line[self._pos] not in (0x22, 0x5C):
                    raise ParseError("Bad escape in quoted string")
                byte = line[self._pos]
                self._pos += 1
            elif byte in (0x0D, 0x0A, 0x00):
                raise ParseError("Control character in quoted string")
            out.append(byte)
        raise ParseError("Unterminated quoted string")

    def literal_bytes(self) -> tuple[bytes, bool]:
        """A literal (or literal8) ending the current line; (bytes, binary)."""
        match = _LITERAL.fullmatch(self._line, self._pos)
        if match is None:
            raise ParseError(f"Bad literal at column {self._pos + 1}")
        if self._index + 2 >= len(self._pieces):
            raise ParseError("Literal data missing")
        data = self._pieces[self._index + 1]
        self._index += 2
        self._line = self._pieces[self._index]
        self._pos = 0
        return data, match.group(1) == b"~"

    def string_bytes(self, *, allow_binary: bool = False) -> bytes:
        """A quoted string or literal, raw."""
        byte = self.peek()
        if byte == 0x22:
            return self.quoted_bytes()
        if byte == 0x7B or (byte == 0x7E and allow_binary):
            data, _binary = self.literal_bytes()
            return data
        raise ParseError(f"Expected a string at column {self._pos + 1}")

    def string(self) -> str:
        return decode_text(self.string_bytes())

    def astring(self) -> str:
        if self.peek() in (0x22, 0x7B):
            return self.string()
        raw = self._run(_ASTRING_SPECIALS)
        if not raw:
            raise ParseError(f"Expected an atom or string at column {self._pos + 1}")
        return decode_text(raw)

    def nstring(self) -> str | None:
        if self._line[self._pos : self._pos + 3].upper() == b"NIL" and self._ends_token(3):
            self._pos += 3
            return None
        return self.string()

    def list_mailbox(self) -> str:
        """RFC 9051 list-mailbox: atom chars plus % * ], or a string."""
        if self.peek() in (0x22, 0x7B):
            return self.string()
        raw = self._run(_LIST_SPECIALS)
        if not raw:
            raise ParseError(f"Expected a mailbox pattern at column {self._pos + 1}")
        return decode_text(raw)

    def _ends_token(self, length: int) -> bool:
        end = self._pos + length
        return end >= len(self._line) or self._line[end] in b" )"

    def run_until(self, stops: bytes) -> str:
        """Raw text up to (not including) any byte of `stops` or the line's end."""
        start = self._pos
        while self._pos < len(self._line) and self._line[self._pos] not in stops:
            self._pos += 1
        return decode_text(self._line[start : self._pos])

    # --- lists -----------------------------------------------------------------
    def paren_list(self, item: Callable[[], T], *, allow_empty: bool = True) -> list[T]:
        """ "(" item *(SP item) ")"."""
        self.expect(b"(")
        self.enter()
        items: list[T] = []
        if not self.accept(b")"):
            items.append(item())
            while not self.accept(b")"):
                self.sp()
                items.append(item())
        elif not allow_empty:
            raise ParseError("Empty list")
        self.leave()
        return items

    def enter(self) -> None:
        self._depth += 1
        if self._depth > self._max_depth:
            raise ParseError("Nesting too deep")

    def leave(self) -> None:
        self._depth -= 1
