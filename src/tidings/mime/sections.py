"""IMAP section extraction (RFC 9051 §6.4.5): BODY[section], BINARY[section] and
BINARY.SIZE[section], sliced from the raw message bytes without re-serialising.

Results are None when the section does not exist (the caller answers NIL or an empty
string) and `UnknownCTE` when BINARY meets an encoding it cannot decode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.mime.headers import find_body_start
from tidings.mime.structure import MAX_DEPTH, Part, parse_message
from tidings.mime.transfer import decode_transfer

_MSGTEXT = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT"})
# Every nesting level adds at most two numbers (message/rfc822 + its body part).
_MAX_PART_NUMBERS = 2 * MAX_DEPTH + 2
_NUMBER = re.compile(r"[0-9]{1,9}")  # ASCII digits only; str.isdigit also accepts "²"
_FIELD_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s()"]+)')


@dataclass(frozen=True, slots=True)
class Section:
    """A parsed section-spec: part numbers, an optional text specifier and field names."""

    part: tuple[int, ...] = ()
    text: str | None = None  # HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnknownCTE:
    """BINARY met a Content-Transfer-Encoding it cannot decode (RFC 3516 UNKNOWN-CTE)."""

    encoding: str


def parse_section(spec: str) -> Section | None:
    """Parse e.g. "", "1.2", "1.2.MIME", "HEADER.FIELDS (From To)"; None when invalid."""
    head, paren, field_list = spec.strip().partition("(")
    head = head.strip()
    words = head.split(".", _MAX_PART_NUMBERS + 1) if head else []
    count = 0
    while count < len(words) and _NUMBER.fullmatch(words[count]):
        count += 1
    numbers = [int(word) for word in words[:count]]
    rest = words[count:]
    if 0 in numbers or count > _MAX_PART_NUMBERS or (rest and rest[0][:1].isdigit()):
        return None  # part 0, deeper than any parsed tree, or a number too long
    text = ".".join(rest).upper() or None
    if text is not None and text not in _MSGTEXT and text != "MIME":
        return None
    if text == "MIME" and not numbers:
        return None  # RFC 9051 §6.4.5: MIME must be prefixed by a part number
    fields: tuple[str, ...] = ()
    if text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        if not paren or ")" not in field_list:
            return None
        inner = field_list[: field_list.rindex(")")]
        fields = tuple(q or a for q, a in _FIELD_NAME.findall(inner))
        if not fields:
            return None
    elif paren:
        return None
    return Section(tuple(numbers), text, fields)


def find_part(root: Part, numbers: tuple[int, ...]) -> Part | None:
    """The part that section numbers name, or None (RFC 9051 §6.4.5 numbering)."""
    node: Part | None = root
    for position, number in enumerate(numbers):
        assert node is not None
        node = _message_part(node, number) if position == 0 else _subpart(node, number)
        if node is None:
            return None
    return node


def _message_part(message: Part, number: int) -> Part | None:
    """Part `number` of a message: a multipart's child, or the body itself when number=1."""
    if message.children:
        return message.children[number - 1] if number <= len(message.children) else None
    return message if number == 1 else None


def _subpart(part: Part, number: int) -> Part | None:
    if part.children:
        return part.children[number - 1] if number <= len(part.children) else None
    if part.message is not None:
        return _message_part(part.message, number)
    return None


def section_bytes(raw: bytes, spec: str | Section, root: Part | None = None) -> bytes | None:
    """The bytes of BODY[spec] sliced from `raw`; None when the section does not exist."""
    section = parse_section(spec) if isinstance(spec, str) else spec
    if section is None:
        return None
    if not section.part and section.text is None:
        return raw
    tree = root if root is not None else parse_message(raw)
    part = find_part(tree, section.part) if section.part else tree
    if part is None:
        return None
    if section.text is None:
        return raw[part.body_start : part.end]
    if section.text == "MIME":
        return raw[part.start : part.body_start]
    # HEADER / TEXT address a message: the root, or an encapsulated message/rfc822.
    message = part if not section.part else part.message
    if message is None:
        return None
    if section.text == "TEXT":
        return raw[message.body_start : message.end]
    if section.text == "HEADER":
        return raw[message.start : message.body_start]
    return _header_fields(raw, message, section)


def _header_fields(raw: bytes, message: Part, section: Section) -> bytes:
    """HEADER.FIELDS[.NOT]: matching fields as written, then the blank line if any."""
    wanted = {name.lower() for name in section.fields}
    keep = section.text == "HEADER.FIELDS"
    chosen = [raw[f.start : f.end] for f in message.headers if (f.name.lower() in wanted) == keep]
    _, has_blank = find_body_start(raw, message.start, message.end)
    if has_blank:
        blank = b"\r\n" if raw[message.body_start - 2 : message.body_start] == b"\r\n" else b"\n"
        chosen.append(blank)
    return b"".join(chosen)


def _binary_part(raw: bytes, part_spec: str | tuple[int, ...], root: Part | None) -> Part | None:
    if isinstance(part_spec, str):
        section = parse_section(part_spec)
        if section is None or section.text is not None:
            return None
        numbers = section.part
    else:
        numbers = part_spec
    tree = root if root is not None else parse_message(raw)
    return find_part(tree, numbers) if numbers else tree


def binary_bytes(
    raw: bytes, part_spec: str | tuple[int, ...], root: Part | None = None
) -> bytes | UnknownCTE | None:
    """BINARY[part]: the part body with its transfer encoding removed (RFC 9051 §6.4.5);
    BINARY[] is the whole message as stored."""
    if part_spec in ("", ()):
        return raw
    part = _binary_part(raw, part_spec, root)
    if part is None:
        return None
    decoded = decode_transfer(raw[part.body_start : part.end], part.encoding)
    return UnknownCTE(part.encoding) if decoded is None else decoded


def binary_size(
    raw: bytes, part_spec: str | tuple[int, ...], root: Part | None = None
) -> int | UnknownCTE | None:
    """BINARY.SIZE[part]: the decoded size in octets."""
    data = binary_bytes(raw, part_spec, root)
    return data if data is None or isinstance(data, UnknownCTE) else len(data)
