"""Search keys (RFC 9051 §6.4.4, RFC 3501 keys, RFC 7162 MODSEQ, RFC 5032 WITHIN,
RFC 8514 SAVEDATE, RFC 8474 EMAILID/THREADID) as a small typed tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tidings.imap.sequence import SequenceSet


@dataclass(frozen=True, slots=True)
class SearchAll:
    pass


@dataclass(frozen=True, slots=True)
class SearchFlag:
    """A flag or keyword that must be set (or unset when `present` is False).
    "\\Recent" stands for RFC 3501's RECENT/NEW/OLD."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class SearchHeader:
    """Substring match on a header field (BCC CC FROM SUBJECT TO HEADER)."""

    field: str  # lower case
    value: str


@dataclass(frozen=True, slots=True)
class SearchText:
    """BODY or TEXT: answered from the full-text index."""

    field: str  # "body" or "text"
    value: str


@dataclass(frozen=True, slots=True)
class SearchDate:
    which: str  # "internal", "sent" or "saved"
    op: str  # "before", "on" or "since"
    day: date


@dataclass(frozen=True, slots=True)
class SearchSize:
    larger: bool
    size: int


@dataclass(frozen=True, slots=True)
class SearchSequence:
    sequence: SequenceSet
    uid: bool = False


@dataclass(frozen=True, slots=True)
class SearchModSeq:
    modseq: int
    entry: tuple[str, str] | None = None  # (entry name, all|priv|shared)


@dataclass(frozen=True, slots=True)
class SearchWithin:
    older: bool
    seconds: int


@dataclass(frozen=True, slots=True)
class SearchSaveDateSupported:
    pass


@dataclass(frozen=True, slots=True)
class SearchObjectId:
    kind: str  # "emailid" or "threadid"
    value: str


@dataclass(frozen=True, slots=True)
class SearchNot:
    key: SearchKey


@dataclass(frozen=True, slots=True)
class SearchOr:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class SearchAnd:
    keys: tuple[SearchKey, ...]


SearchKey = (
    SearchAll
    | SearchFlag
    | SearchHeader
    | SearchText
    | SearchDate
    | SearchSize
    | SearchSequence
    | SearchModSeq
    | SearchWithin
    | SearchSaveDateSupported
    | SearchObjectId
    | SearchNot
    | SearchOr
    | SearchAnd
)
