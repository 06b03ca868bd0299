"""Content-Type and Content-Disposition with their parameters (RFC 2045 §5, RFC 2183,
RFC 2231 continuations and charset'language'percent-encoding).

Values are decoded to text; the common non-standard `filename="=?UTF-8?B?...?="`
(RFC 2047 inside a quoted string) is decoded as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.mime.charset import decode_bytes
from tidings.mime.encoded_words import decode_encoded_words

Params = tuple[tuple[str, str], ...]

# RFC 2045 §5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_SECTION = re.compile(r"^(.*?)\*(\d{1,4})(\*?)\Z")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class ContentType:
    """A parsed Content-Type: lower-case type and subtype, decoded parameters in order."""

    maintype: str = "text"
    subtype: str = "plain"
    params: Params = (("charset", "us-ascii"),)
    # True when no valid Content-Type was given and the RFC 2045 §5.2 default applies.
    defaulted: bool = False

    @property
    def mime_type(self) -> str:
        return f"{self.maintype}/{self.subtype}"

    def param(self, name: str) -> str | None:
        """The value of the first parameter called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.params if key == wanted), None)

    @property
    def charset(self) -> str | None:
        return self.param("charset")

    @property
    def boundary(self) -> str | None:
        return self.param("boundary")


@dataclass(frozen=True, slots=True)
class ContentDisposition:
    """A parsed Content-Disposition (RFC 2183): lower-case kind and decoded parameters."""

    kind: str
    params: Params = ()

    def param(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.params if key == wanted), None)

    @property
    def filename(self) -> str | None:
        return self.param("filename")


TEXT_PLAIN = ContentType(defaulted=True)
MESSAGE_RFC822 = ContentType("message", "rfc822", (), defaulted=True)


def parse_content_type(value: str | None, default: ContentType = TEXT_PLAIN) -> ContentType:
    """Parse a Content-Type value; missing or invalid ones give `default` (RFC 2045 §5.2)."""
    if value is None:
        return default
    head, params = _split_head(value)
    maintype, slash, subtype = head.partition("/")
    maintype, subtype = maintype.strip().lower(), subtype.strip().lower()
    if not slash or not _TOKEN.fullmatch(maintype) or not _TOKEN.fullmatch(subtype):
        return TEXT_PLAIN
    return ContentType(maintype, subtype, params)


def parse_content_disposition(value: str | None) -> ContentDisposition | None:
    """Parse a Content-Disposition value; None when absent or without a disposition type."""
    if value is None:
        return None
    head, params = _split_head(value)
    kind = head.strip().lower()
    if not _TOKEN.fullmatch(kind):
        return None
    return ContentDisposition(kind, params)


def parse_params(text: str) -> Params:
    """Parse `; name=value` pairs, joining RFC 2231 sections and decoding their charset."""
    raw = _scan(text)
    simple: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    order: list[str] = []
    for name, value in raw:
        match = _SECTION.match(name)
        if match:
            base, number, star = match.group(1), int(match.group(2)), bool(match.group(3))
        elif name.endswith("*"):
            base, number, star = name[:-1], 0, True
        else:
            if name not in simple:
                simple[name] = value
                order.append(name)
            continue
        parts = sections.setdefault(base, {})
        parts.setdefault(number, (value, star))
        if base not in order:
            order.append(base)
    result: list[tuple[str, str]] = []
    for name in order:
        if name in sections:
            result.append((name, _join_sections(sections[name])))
        else:
            result.append((name, _decode_plain(simple[name])))
    return tuple(result)


def _split_head(value: str) -> tuple[str, Params]:
    head, _, rest = value.partition(";")
    return _strip_comments(head), parse_params(rest)


def _strip_comments(text: str) -> str:
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def _scan(text: str) -> list[tuple[str, str]]:
    """Split `a=b; c="d;e"` into (lower-case name, value) pairs, honouring quotes and comments."""
    pairs: list[tuple[str, str]] = []
    pos, size, equals = 0, len(text), -1
    while pos < size:
        if equals < pos:
            equals = text.find("=", pos)  # cached, so ";;;;..." stays linear
            if equals < 0:
                break
        semi = text.find(";", pos, equals)
        if semi >= 0:
            pos = semi + 1  # a parameter without "=": skip it
            continue
        name = _strip_comments(text[pos:equals]).strip().lower()
        value, pos = _read_value(text, equals + 1)
        if name and _TOKEN.fullmatch(name):
            pairs.append((name, value))
    return pairs


def _read_value(text: str, pos: int) -> tuple[str, int]:
    """Read one parameter value starting at `pos`; returns it and the position after ";"."""
    size = len(text)
    while pos < size and text[pos] in " \t\r\n":
        pos += 1
    out: list[str] = []
    if pos < size and text[pos] == '"':
        pos += 1
        while pos < size and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < size:
                pos += 1
            out.append(text[pos])
            pos += 1
        end = text.find(";", pos)
        return "".join(out), size if end < 0 else end + 1
    depth = 0
    while pos < size and (text[pos] != ";" or depth):
        char = text[pos]
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
        pos += 1
    return "".join(out).strip(), pos + 1


def _decode_plain(value: str) -> str:
    return decode_encoded_words(value) if "=?" in value else value


def _join_sections(parts: dict[int, tuple[str, bool]]) -> str:
    """RFC 2231 §3-4: concatenate sections 0..n in order; section 0 may carry charset'lang'."""
    charset: str | None = None
    chunks: list[bytes] = []
    numbers = sorted(parts)
    for number in numbers:
        value, extended = parts[number]
        if extended:
            if number == numbers[0] and value.count("'") >= 2:
                charset, _lang, value = value.split("'", 2)
            encoded = value.encode("utf-8", errors="surrogatepass")
            chunks.append(_PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), encoded))
        else:
            chunks.append(value.encode("utf-8", errors="surrogatepass"))
    return decode_bytes(b"".join(chunks), charset or "utf-8")
