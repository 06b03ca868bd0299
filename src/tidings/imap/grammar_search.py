"""Search keys (RFC 9051 §6.4.4 + RFC 3501 §6.4.4 + RFC 7162/5032/8514/8474) and dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from tidings.imap.lexer import Cursor, ParseError
from tidings.imap.search_model import (
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchObjectId,
    SearchOr,
    SearchSaveDateSupported,
    SearchSequence,
    SearchSize,
    SearchText,
    SearchWithin,
)
from tidings.imap.sequence import SequenceSet, parse_sequence_set

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

_FLAG_KEYS: dict[str, tuple[str, bool]] = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "RECENT": ("\\Recent", True),
    "OLD": ("\\Recent", False),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_HEADER_KEYS = {"BCC", "CC", "FROM", "SUBJECT", "TO"}
_DATE_KEYS: dict[str, tuple[str, str]] = {
    "BEFORE": ("internal", "before"),
    "ON": ("internal", "on"),
    "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"),
    "SENTON": ("sent", "on"),
    "SENTSINCE": ("sent", "since"),
    "SAVEDBEFORE": ("saved", "before"),
    "SAVEDON": ("saved", "on"),
    "SAVEDSINCE": ("saved", "since"),
}


def parse_date(cur: Cursor) -> date:
    """RFC 9051 `date`: d-Mon-yyyy, optionally quoted."""
    quoted = cur.accept(b'"')
    text = cur.run_until(b'" )')
    if quoted:
        cur.expect(b'"')
    return date_from_text(text)


def date_from_text(text: str) -> date:
    parts = text.split("-")
    if len(parts) != 3 or parts[1].upper() not in MONTHS:
        raise ParseError(f"Bad date {text!r}")
    day, year = parts[0].strip(), parts[2]
    if not (day.isdigit() and len(day) <= 2 and year.isdigit() and len(year) == 4):
        raise ParseError(f"Bad date {text!r}")
    try:
        return date(int(year), MONTHS.index(parts[1].upper()) + 1, int(day))
    except ValueError as exc:
        raise ParseError(f"Bad date {text!r}") from exc


def parse_date_time(cur: Cursor) -> datetime:
    """RFC 9051 `date-time`: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be space-padded)."""
    raw = cur.quoted_bytes().decode("ascii", "replace")
    try:
        day_text, time_text, zone = raw.lstrip(" ").split(" ")
        day = date_from_text(day_text)
        hours, minutes, seconds = (int(x) for x in time_text.split(":"))
        if len(zone) != 5 or zone[0] not in "+-" or not zone[1:].isdigit():
            raise ValueError(zone)
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        tz = timezone(offset if zone[0] == "+" else -offset)
        return datetime(day.year, day.month, day.day, hours, minutes, seconds, tzinfo=tz)
    except (ValueError, ParseError) as exc:
        raise ParseError(f"Bad date-time {raw!r}") from exc


def parse_search_program(cur: Cursor) -> tuple[str | None, SearchKey]:
    """[CHARSET x SP] search-key *(SP search-key), to the end of the command."""
    charset: str | None = None
    if cur.peek_word() == "CHARSET":
        cur.word()
        cur.sp()
        charset = cur.astring()
        cur.sp()
    return charset, parse_search_keys(cur)


def parse_search_keys(cur: Cursor) -> SearchKey:
    """One or more keys separated by spaces, up to the end (or a closing paren)."""
    keys = [parse_search_key(cur)]
    while cur.peek() == 0x20:
        cur.sp()
        keys.append(parse_search_key(cur))
    return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))


def parse_search_key(cur: Cursor) -> SearchKey:
    byte = cur.peek()
    if byte == 0x28:  # "("
        cur.expect(b"(")
        cur.enter()
        keys = parse_search_keys(cur)
        cur.expect(b")")
        cur.leave()
        return keys
    if byte is not None and (0x30 <= byte <= 0x39 or byte in (0x2A, 0x24)):
        return SearchSequence(_sequence(cur))
    name = cur.word()
    if name in _FLAG_KEYS:
        flag, present = _FLAG_KEYS[name]
        return SearchFlag(flag, present)
    handler = _KEYS.get(name)
    if handler is None:
        raise ParseError(f"Unknown search key {name}")
    return handler(cur, name)


def _sequence(cur: Cursor) -> SequenceSet:
    text = cur.run_until(b" )")
    parsed = parse_sequence_set(text)
    if parsed is None:
        raise ParseError(f"Bad sequence set {text!r}")
    return parsed


def _arg_string(cur: Cursor) -> str:
    cur.sp()
    return cur.astring()


def _key_all(cur: Cursor, name: str) -> SearchKey:
    return SearchAll()


def _key_new(cur: Cursor, name: str) -> SearchKey:
    return SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))


def _key_keyword(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    return SearchFlag(cur.atom(), name == "KEYWORD")


def _key_header_field(cur: Cursor, name: str) -> SearchKey:
    return SearchHeader(name.lower(), _arg_string(cur))


def _key_header(cur: Cursor, name: str) -> SearchKey:
    field = _arg_string(cur).lower()
    return SearchHeader(field, _arg_string(cur))


def _key_text(cur: Cursor, name: str) -> SearchKey:
    return SearchText(name.lower(), _arg_string(cur))


def _key_date(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    which, op = _DATE_KEYS[name]
    return SearchDate(which, op, parse_date(cur))


def _key_size(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    return SearchSize(name == "LARGER", cur.number(bits=63))


def _key_not(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    cur.enter()
    key = parse_search_key(cur)
    cur.leave()
    return SearchNot(key)


def _key_or(cur: Cursor, name: str) -> SearchKey:
    cur.enter()
    cur.sp()
    left = parse_search_key(cur)
    cur.sp()
    right = parse_search_key(cur)
    cur.leave()
    return SearchOr(left, right)


def _key_uid(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    return SearchSequence(_sequence(cur), uid=True)


def _key_modseq(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    entry: tuple[str, str] | None = None
    if cur.peek() == 0x22:
        entry_name = cur.string()
        cur.sp()
        kind = cur.word().lower()
        if kind not in ("all", "priv", "shared"):
            raise ParseError("Bad MODSEQ entry type")
        entry = (entry_name, kind)
        cur.sp()
    return SearchModSeq(cur.number(bits=63), entry)


def _key_within(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    return SearchWithin(name == "OLDER", cur.number(nonzero=True))


def _key_savedate_supported(cur: Cursor, name: str) -> SearchKey:
    return SearchSaveDateSupported()


def _key_object_id(cur: Cursor, name: str) -> SearchKey:
    cur.sp()
    return SearchObjectId(name.lower(), cur.atom())


_KEYS: dict[str, Callable[[Cursor, str], SearchKey]] = {
    "ALL": _key_all,
    "NEW": _key_new,
    "KEYWORD": _key_keyword,
    "UNKEYWORD": _key_keyword,
    "HEADER": _key_header,
    "BODY": _key_text,
    "TEXT": _key_text,
    "LARGER": _key_size,
    "SMALLER": _key_size,
    "NOT": _key_not,
    "OR": _key_or,
    "UID": _key_uid,
    "MODSEQ": _key_modseq,
    "OLDER": _key_within,
    "YOUNGER": _key_within,
    "SAVEDATESUPPORTED": _key_savedate_supported,
    "EMAILID": _key_object_id,
    "THREADID": _key_object_id,
    **{key: _key_header_field for key in _HEADER_KEYS},
    **{key: _key_date for key in _DATE_KEYS},
}
