"""Plain text of a message for the search index and DLP: decoded text/plain and
text/html bodies (tags stripped, entities unescaped), nested message subjects and
attachment file names, capped in size. RFC 2045 §6 decoding, RFC 2046 §4.1 charsets.
"""

from __future__ import annotations

import html
import re

from tidings.mime.charset import decode_bytes
from tidings.mime.structure import Part, parse_message
from tidings.mime.transfer import decode_transfer

DEFAULT_MAX_CHARS = 1_000_000
# Not "head": an unclosed <head> would hide the whole document from DLP.
_SKIPPED_TAGS = frozenset({"script", "style", "title", "template"})
# ASCII-only lower-casing keeps string offsets equal (str.lower can change lengths).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
     "table", "ul", "ol", "blockquote", "pre", "section", "article", "header", "footer"}
)  # fmt: skip
_SPACES = re.compile(r"[^\S\n]+")  # runs of whitespace other than newline


def html_to_text(markup: str) -> str:
    """The visible text of an HTML document, entities unescaped, whitespace tidied.

    A single linear scan (html.parser is quadratic on inputs like "<a<a<a..."): tags
    are dropped, block tags become line breaks, script/style/head contents and
    comments are skipped.
    """
    lower = markup.translate(_ASCII_LOWER)
    pieces: list[str] = []
    pos, size, close = 0, len(markup), -1
    while pos < size:
        lt = markup.find("<", pos)
        if lt < 0:
            pieces.append(markup[pos:])
            break
        pieces.append(markup[pos:lt])
        if markup.startswith("<!--", lt):
            end = markup.find("-->", lt + 4)
            pos = size if end < 0 else end + 3
            continue
        if close < lt:
            close = markup.find(">", lt)  # cached: never rescans the same text
        if close < 0:
            pieces.append(markup[lt:])  # an unclosed "<" is text, as browsers show it
            break
        name = _tag_name(lower[lt + 1 : min(close, lt + 40)])
        pos = close + 1
        if name in _BLOCK_TAGS:
            pieces.append("\n")
        elif name in _SKIPPED_TAGS and not lower.startswith("/", lt + 1):
            end = lower.find(f"</{name}", pos)
            pos = size if end < 0 else end
    return _tidy(html.unescape("".join(pieces)))


def _tag_name(tag: str) -> str:
    name = tag.lstrip("/")
    for index, char in enumerate(name):
        if char in " \t\r\n/>":
            return name[:index]
    return name


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def part_text(raw: bytes, part: Part, max_bytes: int = 4 * DEFAULT_MAX_CHARS) -> str | None:
    """The decoded text of one text/plain or text/html part, or None for other types."""
    ctype = part.content_type
    if ctype.maintype != "text" or ctype.subtype not in ("plain", "html"):
        return None
    data = decode_transfer(raw[part.body_start : min(part.end, part.body_start + max_bytes)],
                           part.encoding)  # fmt: skip
    if data is None:
        return None
    text = decode_bytes(data, ctype.charset)
    return html_to_text(text) if ctype.subtype == "html" else text


def extract_text(raw: bytes, root: Part | None = None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """All searchable text of a message, at most `max_chars` characters."""
    pieces: list[str] = []
    budget = [max_chars]
    _collect(raw, root if root is not None else parse_message(raw), pieces, budget)
    return "\n".join(p for p in pieces if p)[:max_chars]


def _collect(raw: bytes, part: Part, pieces: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    name = part.filename
    if name:
        _add(pieces, budget, name)
    if part.children:
        # Every alternative is kept: DLP must see text that only the HTML version carries.
        for child in part.children:
            _collect(raw, child, pieces, budget)
    elif part.message is not None:
        subject = part.message.headers.get_decoded("subject")
        if subject:
            _add(pieces, budget, subject)
        _collect(raw, part.message, pieces, budget)
    else:
        text = part_text(raw, part, max_bytes=4 * budget[0])
        if text:
            _add(pieces, budget, text)


def _add(pieces: list[str], budget: list[int], text: str) -> None:
    pieces.append(text[: budget[0]])
    budget[0] -= len(pieces[-1]) + 1


def attachment_names(root: Part) -> list[str]:
    """File names of every part that has one (Content-Disposition or Content-Type name)."""
    names: list[str] = []
    stack = [root]
    while stack:
        part = stack.pop()
        if part.filename:
            names.append(part.filename)
        stack.extend(reversed(part.children))
        if part.message is not None:
            stack.append(part.message)
    return names
