"""The RFC 5322 header section: split from the body, fields with byte offsets, unfolding.

Works on raw bytes and keeps every field's position so IMAP HEADER.FIELDS can slice
the original lines. The value parsers (RFC 2047 words, RFC 2231 parameters, addresses,
dates) live in their own modules and are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tidings.mime.addresses import Address, Group, parse_address_list
from tidings.mime.charset import decode_header_bytes
from tidings.mime.dates import parse_date
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.params import (
    ContentDisposition,
    ContentType,
    parse_content_disposition,
    parse_content_type,
)

__all__ = [
    "Address",
    "ContentDisposition",
    "ContentType",
    "Group",
    "HeaderField",
    "Headers",
    "decode_encoded_words",
    "find_body_start",
    "parse_address_list",
    "parse_content_disposition",
    "parse_content_type",
    "parse_date",
    "parse_headers",
    "unfold",
]

# RFC 5322 §2.2: a field name is printable US-ASCII except ":"; we also refuse spaces
# inside the name so an mbox "From " line is not taken for a field.
_FIELD_NAME = re.compile(rb"[!-9;-~]+")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One header field: name as written, raw value bytes (still folded), offsets in raw."""

    name: str
    raw_value: bytes
    start: int  # offset of the first byte of the field name
    end: int  # offset just past the field's last line ending

    @property
    def value(self) -> str:
        """The unfolded value as text, surrounding whitespace removed (RFC 5322 §2.2.3)."""
        return unfold(self.raw_value)

    @property
    def decoded(self) -> str:
        """The unfolded value with RFC 2047 encoded words decoded."""
        return decode_encoded_words(self.value)


@dataclass(frozen=True, slots=True)
class Headers:
    """The fields of one header section, in order; lookups are case-insensitive."""

    fields: tuple[HeaderField, ...] = ()
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __iter__(self) -> Iterator[HeaderField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def all(self, name: str) -> list[HeaderField]:
        """Every field called `name`, in message order."""
        return [self.fields[i] for i in self._index.get(name.lower(), ())]

    def get_all(self, name: str) -> list[str]:
        """The unfolded values of every field called `name`."""
        return [f.value for f in self.all(name)]

    def get(self, name: str) -> str | None:
        """The unfolded value of the first field called `name`, or None."""
        positions = self._index.get(name.lower())
        return self.fields[positions[0]].value if positions else None

    def get_decoded(self, name: str) -> str | None:
        """The first field called `name` with encoded words decoded, or None."""
        positions = self._index.get(name.lower())
        return self.fields[positions[0]].decoded if positions else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index


def unfold(raw_value: bytes) -> str:
    """Unfold (drop CRLF before WSP, RFC 5322 §2.2.3), decode and strip a raw value."""
    return decode_header_bytes(_FOLD.sub(b"", raw_value)).strip(" \t\r\n")


def find_body_start(raw: bytes, start: int = 0, end: int | None = None) -> tuple[int, bool]:
    """Where the body begins in raw[start:end], and whether a blank line was found.

    The header section runs up to and including the first empty line (CRLF or bare
    LF tolerated); without one the whole range is header and the body is empty.
    """
    stop = len(raw) if end is None else end
    if raw.startswith(b"\r\n", start) and start + 2 <= stop:
        return start + 2, True
    if raw.startswith(b"\n", start) and start + 1 <= stop:
        return start + 1, True
    lf_crlf = raw.find(b"\n\r\n", start, stop)
    # Only an LF LF before that one can win: don't scan a CRLF message's whole body.
    lf_lf = raw.find(b"\n\n", start, stop if lf_crlf < 0 else lf_crlf + 2)
    candidates = [(p + 2) for p in (lf_lf,) if p >= 0] + [(p + 3) for p in (lf_crlf,) if p >= 0]
    if not candidates:
        return stop, False
    return min(candidates), True


def parse_headers(raw: bytes, start: int = 0, end: int | None = None) -> Headers:
    """Parse the header lines in raw[start:end] into fields; never raises.

    Lines that are neither a field nor a continuation (garbage, mbox "From ") are skipped.
    """
    stop = len(raw) if end is None else end
    fields: list[HeaderField] = []
    name: str | None = None
    field_start = value_start = pos = start
    while pos < stop:
        newline = raw.find(b"\n", pos, stop)
        line_end = stop if newline < 0 else newline + 1
        first = raw[pos : pos + 1]
        if first in (b" ", b"\t") and name is not None:
            pos = line_end  # a continuation line of the current field
            continue
        if name is not None:
            fields.append(HeaderField(name, raw[value_start:pos], field_start, pos))
            name = None
        colon = raw.find(b":", pos, line_end)
        if colon > pos:
            candidate = raw[pos:colon].rstrip(b" \t")  # RFC 5322 §4.5 obsolete "Name :"
            if _FIELD_NAME.fullmatch(candidate):
                name = candidate.decode("ascii")
                field_start, value_start = pos, colon + 1
        pos = line_end
    if name is not None:
        fields.append(HeaderField(name, raw[value_start:stop], field_start, stop))
    index: dict[str, list[int]] = {}
    for number, item in enumerate(fields):
        index.setdefault(item.name.lower(), []).append(number)
    return Headers(tuple(fields), {key: tuple(value) for key, value in index.items()})
