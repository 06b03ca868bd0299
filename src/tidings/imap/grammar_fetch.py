"""FETCH attributes and modifiers (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162, RFC 8474,
RFC 8514) and STORE arguments (RFC 9051 §6.4.6, RFC 7162 UNCHANGEDSINCE)."""

from __future__ import annotations

from tidings.imap.commands_model import FetchAttribute, Section
from tidings.imap.lexer import Cursor, ParseError
from tidings.model.mail import FlagOperation

SIMPLE_ATTRIBUTES = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
        "EMAILID",
        "THREADID",
        "SAVEDATE",
    }
)
MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_SECTION_TEXTS = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")


def parse_fetch_attributes(cur: Cursor) -> tuple[FetchAttribute, ...]:
    """A macro, one attribute, or a parenthesised list of attributes."""
    if cur.peek() == 0x28:
        return tuple(cur.paren_list(lambda: parse_fetch_attribute(cur), allow_empty=False))
    word = cur.peek_word()
    if word in MACROS:
        cur.word()
        return tuple(FetchAttribute(name) for name in MACROS[word])
    return (parse_fetch_attribute(cur),)


def parse_fetch_attribute(cur: Cursor) -> FetchAttribute:
    name = cur.run_until(b" ()[<").upper()
    if name in ("BODY", "BODY.PEEK") and cur.peek() == 0x5B:
        section = parse_section(cur, binary=False)
        return FetchAttribute("BODY", section, _partial(cur), peek=name == "BODY.PEEK")
    if name in ("BINARY", "BINARY.PEEK", "BINARY.SIZE"):
        section = parse_section(cur, binary=True)
        if name == "BINARY.SIZE":
            return FetchAttribute(name, section)
        return FetchAttribute("BINARY", section, _partial(cur), peek=name == "BINARY.PEEK")
    if name not in SIMPLE_ATTRIBUTES:
        raise ParseError(f"Unknown fetch attribute {name or cur.peek_char()!r}")
    return FetchAttribute(name)


def parse_section(cur: Cursor, *, binary: bool) -> Section:
    """ "[" [part] ["." text] "]" — BINARY sections carry only a part."""
    cur.expect(b"[")
    part: list[int] = []
    while cur.peek() is not None and 0x31 <= (cur.peek() or 0) <= 0x39:
        part.append(cur.number(nonzero=True))
        if not cur.accept(b"."):
            break
    text: str | None = None
    fields: tuple[str, ...] = ()
    if cur.peek() != 0x5D:
        if binary:
            raise ParseError("BINARY takes only a part number")
        raw = cur.run_until(b" ]").upper()
        if raw not in _SECTION_TEXTS or (raw == "MIME" and not part):
            raise ParseError(f"Bad section text {raw!r}")
        text = raw
        if raw.startswith("HEADER.FIELDS"):
            cur.sp()
            fields = tuple(cur.paren_list(cur.astring, allow_empty=False))
    cur.expect(b"]")
    return Section(tuple(part), text, fields)


def _partial(cur: Cursor) -> tuple[int, int] | None:
    if not cur.accept(b"<"):
        return None
    start = cur.number()
    cur.expect(b".")
    length = cur.number(nonzero=True)
    cur.expect(b">")
    return start, length


def parse_fetch_modifiers(cur: Cursor) -> tuple[int | None, bool]:
    """ " (CHANGEDSINCE n [VANISHED])" or " (VANISHED CHANGEDSINCE n)"; returns
    (changedsince, vanished)."""
    changed_since: int | None = None
    vanished = False

    def modifier() -> None:
        nonlocal changed_since, vanished
        word = cur.word()
        if word == "CHANGEDSINCE":
            cur.sp()
            changed_since = cur.number(bits=63)
        elif word == "VANISHED":
            vanished = True
        else:
            raise ParseError(f"Unknown fetch modifier {word}")

    cur.paren_list(modifier, allow_empty=False)
    if vanished and changed_since is None:
        raise ParseError("VANISHED needs CHANGEDSINCE")
    return changed_since, vanished


def parse_store_action(cur: Cursor) -> tuple[FlagOperation, bool, tuple[str, ...]]:
    """ "[+-]FLAGS[.SILENT] SP (flag-list / flag *(SP flag))"."""
    word = cur.word()
    operation = FlagOperation.REPLACE
    if word.startswith("+"):
        operation, word = FlagOperation.ADD, word[1:]
    elif word.startswith("-"):
        operation, word = FlagOperation.REMOVE, word[1:]
    if word not in ("FLAGS", "FLAGS.SILENT"):
        raise ParseError(f"Bad STORE item {word}")
    cur.sp()
    if cur.peek() == 0x28:
        flags = tuple(cur.paren_list(lambda: parse_flag(cur)))
    else:
        flags_list = [parse_flag(cur)]
        while cur.accept(b" "):
            flags_list.append(parse_flag(cur))
        flags = tuple(flags_list)
    return operation, word.endswith(".SILENT"), flags


def parse_flag(cur: Cursor) -> str:
    """A flag: "\\" atom or a keyword atom."""
    if cur.accept(b"\\"):
        if cur.accept(b"*"):
            return "\\*"
        return "\\" + cur.atom()
    return cur.atom()
