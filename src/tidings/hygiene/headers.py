"""Header-section helpers for the authentication checks: field listing and tag=value
lists (RFC 6376 §3.2)."""

from __future__ import annotations

import re

_FIELD_START = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)


def header_section(raw: bytes) -> bytes:
    """The bytes up to and including the blank line that ends the header section."""
    end = raw.find(b"\r\n\r\n")
    if end >= 0:
        return raw[: end + 4]
    end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 2]


def fields(raw: bytes) -> list[tuple[str, str]]:
    """(name, unfolded value) of every header field, top to bottom."""
    result: list[tuple[str, str]] = []
    for block in _field_blocks(header_section(raw)):
        name, _, value = block.partition(b":")
        text = value.decode("utf-8", "replace")
        result.append((name.decode("ascii", "replace").strip(), re.sub(r"\r?\n[ \t]", " ", text)
                       .strip()))
    return result


def _field_blocks(section: bytes) -> list[bytes]:
    blocks: list[bytes] = []
    for line in section.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and blocks:
            blocks[-1] += line
        else:
            blocks.append(line)
    return blocks


def values(raw: bytes, name: str) -> list[str]:
    """Values of every field called `name` (case-insensitive), top to bottom."""
    wanted = name.lower()
    return [value for field_name, value in fields(raw) if field_name.lower() == wanted]


def tag_list(value: str) -> dict[str, str]:
    """Parse `a=1; b=2` (RFC 6376 §3.2); whitespace inside values is removed."""
    tags: dict[str, str] = {}
    for part in value.split(";"):
        name, sep, tag_value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), re.sub(r"\s+", "", tag_value))
    return tags
