"""Readers for message content: DATA (dot-stuffed text ending at CRLF.CRLF only,
RFC 5321 §4.1.1.4 and §4.5.2) and BDAT chunks (RFC 3030 §2).

Only a line "." between two real CRLFs ends DATA. Bare CR or LF never ends a
line, so SMTP smuggling payloads (LF.LF, CR.CR, LF.CRLF, CRLF.LF ...) stay inside
the one message; they are then refused or normalised by policy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tidings.smtp.parser import NEED_DATA, NeedData

_END_MARK = b".\r\n"
_LINE_THEN_END = b"\r\n.\r\n"


class BareLineEndings(enum.StrEnum):
    """What to do with a bare CR or LF inside DATA (see docs/decisions/0002)."""

    REJECT = "reject"  # read to the real end, then refuse the whole message
    NORMALIZE = "normalize"  # rewrite each bare CR or LF as CRLF, as content


@dataclass(frozen=True, slots=True)
class ContentDone:
    """The end of the message content."""

    content: bytes  # empty when `too_big`
    size: int  # octets received (after dot-unstuffing)
    too_big: bool
    bare_line_ending: bool  # a bare CR or LF was seen


class DataReader:
    """Incremental DATA reader over the session's shared buffer; chunking-invariant."""

    def __init__(self, max_bytes: int, policy: BareLineEndings = BareLineEndings.REJECT) -> None:
        self.max_bytes = max_bytes
        self.policy = policy
        self._out = bytearray()
        self._size = 0
        self._line_start = True
        self._bare = False

    def read(self, buffer: bytearray) -> ContentDone | NeedData:
        """Consume what the buffer holds; ContentDone once CRLF.CRLF has been read."""
        while True:
            if self._line_start:
                if buffer[:3] == _END_MARK:
                    del buffer[:3]
                    return self._done()
                if len(buffer) < 3 and _END_MARK.startswith(bytes(buffer)):
                    return NEED_DATA  # "", "." or ".\r": the end mark may still come
                # Every whole line up to the end mark (or the last CRLF) at once: the
                # same result as line by line, without a slice and a copy per line.
                end = buffer.find(_LINE_THEN_END)
                stop = end + 2 if end >= 0 else buffer.rfind(b"\r\n") + 2
                if stop > 1:
                    self._lines(bytes(buffer[:stop]))
                    del buffer[:stop]
                    continue
                if buffer[:1] == b".":
                    # RFC 5321 §4.5.2: drop one leading dot; the client doubled it.
                    del buffer[:1]
                self._line_start = False
            end = buffer.find(b"\r\n")
            if end >= 0:
                self._emit(bytes(buffer[:end]))
                self._emit_crlf()
                del buffer[: end + 2]
                self._line_start = True
                continue
            # No CRLF yet: take all but a trailing CR, which may pair with the next LF.
            keep = 1 if buffer.endswith(b"\r") else 0
            take = len(buffer) - keep
            if take:
                self._emit(bytes(buffer[:take]))
                del buffer[:take]
            return NEED_DATA

    def _lines(self, block: bytes) -> None:
        """Whole lines (`block` starts a line and ends with CRLF), none of them ".":
        unstuff every line's leading dot, then check for bare CR/LF in one pass."""
        if block[:1] == b".":
            block = block[1:]
        if b"\r\n." in block:
            block = block.replace(b"\r\n.", b"\r\n")
        crlf = block.count(b"\r\n")
        if block.count(b"\r") == crlf and block.count(b"\n") == crlf:
            self._append(block)
            return
        # A bare CR or LF: line by line (rare), as _emit treats each line.
        for line in block.split(b"\r\n")[:-1]:
            self._emit(line)
            self._emit_crlf()

    def _emit(self, part: bytes) -> None:
        if not part:
            return
        if b"\r" in part or b"\n" in part:
            self._bare = True
            if self.policy is BareLineEndings.NORMALIZE:
                # `part` never holds CRLF (lines are cut there), so this is exact.
                part = part.replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        self._append(part)

    def _emit_crlf(self) -> None:
        self._append(b"\r\n")

    def _append(self, part: bytes) -> None:
        self._size += len(part)
        if self._size > self.max_bytes:
            self._out.clear()  # keep reading to stay in sync, but stop storing
            return
        self._out += part

    def _done(self) -> ContentDone:
        too_big = self._size > self.max_bytes
        content = b"" if too_big else bytes(self._out)
        self._out = bytearray()
        return ContentDone(content, self._size, too_big, self._bare)


class ChunkReader:
    """Reads exactly `size` octets of one BDAT chunk; binary-safe, no dot-stuffing."""

    def __init__(self, size: int, room: int) -> None:
        self.remaining = size
        self.room = room  # octets the transaction may still take; beyond it, discard
        self._out = bytearray()
        self._size = 0

    def read(self, buffer: bytearray) -> ContentDone | NeedData:
        take = min(self.remaining, len(buffer))
        if take:
            self._size += take
            if self._size <= self.room:
                self._out += buffer[:take]
            del buffer[:take]
            self.remaining -= take
        if self.remaining:
            return NEED_DATA
        too_big = self._size > self.room
        return ContentDone(b"" if too_big else bytes(self._out), self._size, too_big, False)
