"""Pure evaluation of search keys against one message (RFC 9051 §6.4.4).

BODY/TEXT are answered beforehand from the full-text index (`text_hits`); header keys
read the parsed header section when the command layer loaded it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
from tidings.mime.dates import parse_date
from tidings.mime.headers import Headers
from tidings.model.ids import UID
from tidings.model.mail import Message


@dataclass(frozen=True, slots=True)
class Candidate:
    seq: int
    message: Message
    headers: Headers | None = None


@dataclass(slots=True)
class SearchScope:
    exists: int
    largest_uid: int
    now: datetime
    saved: frozenset[UID] = frozenset()
    recent: frozenset[UID] = frozenset()
    text_hits: dict[SearchText, frozenset[UID]] = field(default_factory=dict)


def walk(key: SearchKey) -> Iterator[SearchKey]:
    """Every key in the tree, depth first."""
    yield key
    match key:
        case SearchNot(key=inner):
            yield from walk(inner)
        case SearchOr(left=left, right=right):
            yield from walk(left)
            yield from walk(right)
        case SearchAnd(keys=keys):
            for inner in keys:
                yield from walk(inner)


def required_uids(key: SearchKey, text_hits: dict[SearchText, frozenset[UID]]
                  ) -> frozenset[UID] | None:
    """UIDs outside which `key` cannot match, when the full-text hits decide it (a TEXT or
    BODY key, alone or inside AND); None when every message must be tested."""
    match key:
        case SearchText():
            return text_hits.get(key)
        case SearchAnd(keys=keys):
            found = [r for k in keys if (r := required_uids(k, text_hits)) is not None]
            return frozenset.intersection(*found) if found else None
    return None


def needs_headers(key: SearchKey) -> bool:
    return any(isinstance(k, SearchHeader) or (isinstance(k, SearchDate) and k.which == "sent")
               for k in walk(key))


def has_modseq(key: SearchKey) -> bool:
    return any(isinstance(k, SearchModSeq) for k in walk(key))


def _compare(day: date, op: str, target: date) -> bool:
    if op == "before":
        return day < target
    if op == "on":
        return day == target
    return day >= target


def _header_matches(headers: Headers | None, name: str, value: str) -> bool:
    if headers is None:
        return False
    fields = headers.all(name)
    if not value:
        return bool(fields)
    needle = value.casefold()
    return any(needle in f.decoded.casefold() for f in fields)


def matches(key: SearchKey, item: Candidate, scope: SearchScope) -> bool:
    """Whether `item` satisfies `key`."""
    message = item.message
    match key:
        case SearchAll() | SearchSaveDateSupported():
            return True
        case SearchFlag(flag=flag, present=present):
            if flag == "\\Recent":
                return (message.uid in scope.recent) == present
            return any(f.lower() == flag.lower() for f in message.flags) == present
        case SearchHeader(field=name, value=value):
            return _header_matches(item.headers, name, value)
        case SearchText():
            return message.uid in scope.text_hits.get(key, frozenset())
        case SearchDate(which=which, op=op, day=day):
            return _date_matches(item, which, op, day)
        case SearchSize(larger=larger, size=size):
            return message.size > size if larger else message.size < size
        case SearchSequence(sequence=sequence, uid=uid):
            if sequence.saved:
                return message.uid in scope.saved
            if uid:
                return sequence.contains(message.uid, scope.largest_uid)
            return sequence.contains(item.seq, scope.exists)
        case SearchModSeq(modseq=modseq):
            return message.modseq >= modseq
        case SearchWithin(older=older, seconds=seconds):
            edge = scope.now - timedelta(seconds=seconds)
            return message.received_at <= edge if older else message.received_at > edge
        case SearchObjectId(kind=kind, value=value):
            own = f"M{message.email_id}" if kind == "emailid" else f"T{message.thread_id}"
            return own == value
        case SearchNot(key=inner):
            return not matches(inner, item, scope)
        case SearchOr(left=left, right=right):
            return matches(left, item, scope) or matches(right, item, scope)
        case SearchAnd(keys=keys):
            return all(matches(k, item, scope) for k in keys)
    return False


def _date_matches(item: Candidate, which: str, op: str, day: date) -> bool:
    if which == "internal":
        moment: datetime | None = item.message.received_at
    elif which == "saved":
        moment = item.message.saved_at
    else:
        moment = parse_date(item.headers.get("date")) if item.headers is not None else None
    if moment is None:
        return False
    # RFC 9051 §6.4.4: dates compare "disregarding time and timezone".
    return _compare(moment.date(), op, day)
