"""The MIME part tree of a message (RFC 2045, RFC 2046 §5, RFC 6532 message/global).

Each `Part` records byte offsets into the original message, so IMAP BODY[section]
slices come straight from the raw bytes. Parsing is linear per nesting level, never
raises, and stops descending at `MAX_DEPTH` to defeat recursion attacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tidings.mime.headers import Headers, find_body_start, parse_headers
from tidings.mime.params import (
    MESSAGE_RFC822,
    TEXT_PLAIN,
    ContentDisposition,
    ContentType,
    parse_content_disposition,
    parse_content_type,
)

MAX_DEPTH = 100
MAX_PARTS = 10_000  # body parts per message; the rest of a longer multipart is one part
OCTET_STREAM = ContentType("application", "octet-stream", ())
_ENCAPSULATING = frozenset({"rfc822", "global"})
_TOKEN_LIST = re.compile(r"[^\s,()]+")


@dataclass(frozen=True, slots=True)
class Part:
    """One MIME entity: its header is raw[start:body_start], its body raw[body_start:end]."""

    start: int
    body_start: int
    end: int
    headers: Headers
    content_type: ContentType
    encoding: str  # lower-case Content-Transfer-Encoding, "7bit" when absent
    disposition: ContentDisposition | None
    lines: int  # body lines; counted for text/* and message/* only, else 0
    depth: int
    children: tuple[Part, ...] = ()
    message: Part | None = None  # the encapsulated message of message/rfc822 and /global
    truncated: bool = False  # nesting limit reached: contents not parsed

    @property
    def size(self) -> int:
        """Body size in octets, in its transfer encoding (RFC 9051 §7.5.2 body-fld-octets)."""
        return self.end - self.body_start

    @property
    def is_multipart(self) -> bool:
        return bool(self.children)

    @property
    def content_id(self) -> str | None:
        return self.headers.get("content-id")

    @property
    def description(self) -> str | None:
        return self.headers.get("content-description")

    @property
    def md5(self) -> str | None:
        return self.headers.get("content-md5")

    @property
    def location(self) -> str | None:
        value = self.headers.get("content-location")
        # RFC 2557 §4.1: a folded URI is unfolded by dropping the whitespace.
        return "".join(value.split()) if value is not None else None

    @property
    def language(self) -> tuple[str, ...]:
        """Content-Language tags (RFC 3282), comments dropped."""
        value = self.headers.get("content-language")
        if not value:
            return ()
        return tuple(_TOKEN_LIST.findall(re.sub(r"\([^()]*\)", " ", value)))

    @property
    def filename(self) -> str | None:
        """The attachment name: Content-Disposition filename, else Content-Type name."""
        name = self.disposition.filename if self.disposition else None
        return name or self.content_type.param("name")


class _Budget:
    """How many more body parts this message may have (bounds time and BODYSTRUCTURE size)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts = MAX_PARTS


def parse_message(raw: bytes) -> Part:
    """Parse a whole message into its part tree; never raises."""
    return _parse_part(raw, 0, len(raw), 0, TEXT_PLAIN, _Budget())


def _parse_part(
    raw: bytes, start: int, end: int, depth: int, default: ContentType, budget: _Budget
) -> Part:
    body_start, _ = find_body_start(raw, start, end)
    headers = parse_headers(raw, start, body_start)
    ctype = parse_content_type(headers.get("content-type"), default)
    encoding = _encoding(headers.get("content-transfer-encoding"))
    disposition = parse_content_disposition(headers.get("content-disposition"))
    nests = ctype.maintype == "multipart" or (
        ctype.maintype == "message" and ctype.subtype in _ENCAPSULATING
    )
    truncated = nests and (depth >= MAX_DEPTH or budget.parts <= 0)
    if truncated:
        ctype = OCTET_STREAM
    children: tuple[Part, ...] = ()
    message: Part | None = None
    if ctype.maintype == "multipart":
        children = _parse_children(raw, body_start, end, depth, ctype, budget)
        if not children:
            # RFC 2045 §5.2: a multipart without a usable boundary is not a valid
            # Content-Type; BODYSTRUCTURE cannot express a multipart with no parts.
            ctype = TEXT_PLAIN
    elif ctype.maintype == "message" and ctype.subtype in _ENCAPSULATING:
        budget.parts -= 1
        message = _parse_part(raw, body_start, end, depth + 1, TEXT_PLAIN, budget)
    lines = _count_lines(raw, body_start, end) if ctype.maintype in ("text", "message") else 0
    return Part(
        start, body_start, end, headers, ctype, encoding, disposition, lines, depth,
        children, message, truncated,
    )  # fmt: skip


def _encoding(value: str | None) -> str:
    if not value:
        return "7bit"
    words = re.sub(r"\([^()]*\)", " ", value).split()
    return words[0].strip('"').lower() if words else "7bit"


def _count_lines(raw: bytes, start: int, end: int) -> int:
    """Lines in raw[start:end]: line endings, plus one for an unterminated last line."""
    if end <= start:
        return 0
    return raw.count(b"\n", start, end) + (0 if raw[end - 1 : end] == b"\n" else 1)


def _parse_children(
    raw: bytes, start: int, end: int, depth: int, ctype: ContentType, budget: _Budget
) -> tuple[Part, ...]:
    boundary = ctype.boundary
    if not boundary:
        return ()
    default = MESSAGE_RFC822 if ctype.subtype == "digest" else TEXT_PLAIN  # RFC 2046 §5.1.5
    delimiter = b"--" + boundary.encode("utf-8", errors="surrogatepass")
    ranges = split_multipart(raw, start, end, delimiter)
    if len(ranges) > budget.parts:
        keep = max(budget.parts, 1)
        ranges = [*ranges[: keep - 1], (ranges[keep - 1][0], ranges[-1][1])]
    budget.parts -= len(ranges)
    return tuple(
        _parse_part(raw, child_start, child_end, depth + 1, default, budget)
        for child_start, child_end in ranges
    )


def split_multipart(raw: bytes, start: int, end: int, delimiter: bytes) -> list[tuple[int, int]]:
    """Body part ranges between `delimiter` lines in raw[start:end] (RFC 2046 §5.1.1).

    The line ending before a delimiter belongs to the delimiter; a missing close
    delimiter ends the last part at `end`; preamble and epilogue are skipped.
    """
    ranges: list[tuple[int, int]] = []
    current: int | None = None
    pos = start
    while True:
        found = raw.find(delimiter, pos, end)
        if found < 0:
            break
        pos = found + 1
        if found != start and raw[found - 1] != 0x0A:
            continue  # not at the start of a line
        tail = found + len(delimiter)
        closing = raw.startswith(b"--", tail) and tail + 2 <= end
        after = tail + 2 if closing else tail
        while after < end and raw[after] in (0x20, 0x09):
            after += 1  # transport padding (RFC 2046 §5.1.1)
        if after < end and raw[after] not in (0x0D, 0x0A):
            continue  # e.g. "--boundaryX": a different (longer) boundary
        if current is not None:
            ranges.append((current, _before_line_ending(raw, found, current)))
        if closing:
            return ranges
        if raw.startswith(b"\r\n", after) and after + 2 <= end:
            after += 2
        elif after < end:
            after += 1
        current = pos = after
    if current is not None:
        ranges.append((current, end))
    return ranges


def _before_line_ending(raw: bytes, position: int, floor: int) -> int:
    """`position` moved back over the CRLF or LF that precedes it, not below `floor`."""
    if position > floor and raw[position - 1] == 0x0A:
        position -= 1
        if position > floor and raw[position - 1] == 0x0D:
            position -= 1
    return position


def walk(part: Part, prefix: str = "") -> Iterator[tuple[str, Part]]:
    """Every part below `part` with its IMAP section number (RFC 9051 §6.4.5), depth first.

    The root of a non-multipart message is part "1"; an encapsulated message's parts
    are numbered under the message/rfc822 part.
    """
    if part.children:
        for number, child in enumerate(part.children, 1):
            section = f"{prefix}{number}"
            yield section, child
            yield from _walk_inside(child, section)
    elif not prefix:
        yield "1", part
        yield from _walk_inside(part, "1")


def _walk_inside(part: Part, section: str) -> Iterator[tuple[str, Part]]:
    if part.children:
        yield from walk(part, section + ".")
    elif part.message is not None:
        inner = part.message
        if inner.children:
            yield from walk(inner, section + ".")
        else:
            yield section + ".1", inner
            yield from _walk_inside(inner, section + ".1") if inner.message else iter(())
