"""Pure search evaluation (RFC 9051 §6.4.4), SORT and THREAD (RFC 5256)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tidings.imap.commands.fetch import format_internal_date
from tidings.imap.responses import ThreadData
from tidings.imap.search_eval import Candidate, SearchScope, matches, needs_headers
from tidings.imap.search_model import (
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchNot,
    SearchObjectId,
    SearchOr,
    SearchSequence,
    SearchSize,
    SearchText,
    SearchWithin,
)
from tidings.imap.sequence import SequenceSet
from tidings.imap.threads import SortFacts, facts, ordered_subject, references, sort
from tidings.mime.headers import parse_headers
from tidings.model.ids import UID, BlobId, EmailId, MailboxId, ModSeq
from tidings.model.mail import Message

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def candidate(uid: int, *, flags: frozenset[str] = frozenset(), size: int = 100,
              received: datetime = NOW, header: bytes = b"") -> Candidate:
    message = Message(MailboxId(1), UID(uid), EmailId(uid * 10), ModSeq(uid), flags, size,
                      received, received, BlobId("b"), 7)
    return Candidate(uid, message, parse_headers(header) if header else None)


SCOPE = SearchScope(exists=3, largest_uid=3, now=NOW,
                    text_hits={SearchText("body", "zebra"): frozenset({UID(2)})})


def test_search_keys_match_as_the_rfc_says() -> None:
    seen = candidate(1, flags=frozenset({"\\Seen"}), size=5000,
                     header=b"From: Ann <ann@x.test>\r\nSubject: Hello World\r\n"
                            b"Date: Sun, 1 Mar 2026 08:00:00 +0000\r\n\r\n")
    table: list[tuple[SearchKey, bool]] = [
        (SearchFlag("\\Seen"), True),
        (SearchFlag("\\seen", present=False), False),
        (SearchHeader("from", "ANN@"), True),
        (SearchHeader("subject", "world"), True),
        (SearchHeader("x-missing", ""), False),
        (SearchSize(larger=True, size=4999), True),
        (SearchSize(larger=False, size=5000), False),
        (SearchDate("sent", "on", date(2026, 3, 1)), True),
        (SearchDate("internal", "before", date(2026, 3, 10)), False),
        (SearchDate("internal", "since", date(2026, 3, 10)), True),
        (SearchSequence(SequenceSet(((2, None),))), False),
        (SearchSequence(SequenceSet(((1, 1),)), uid=True), True),
        (SearchWithin(older=False, seconds=60), True),
        (SearchObjectId("emailid", "M10"), True),
        (SearchText("body", "zebra"), False),
        (SearchOr(SearchText("body", "zebra"), SearchNot(SearchFlag("\\Draft"))), True),
    ]
    for key, expected in table:
        assert matches(key, seen, SCOPE) is expected, key
    assert matches(SearchText("body", "zebra"), candidate(2), SCOPE)


def test_only_header_keys_need_the_header_section() -> None:
    assert needs_headers(SearchNot(SearchHeader("to", "x")))
    assert needs_headers(SearchDate("sent", "on", date(2026, 1, 1)))
    assert not needs_headers(SearchOr(SearchFlag("\\Seen"), SearchSize(True, 1)))


def _facts(number: int, subject: str, day: int, *, msgid: str = "", refs: str = "",
           sender: str = "a@x") -> SortFacts:
    header = (f"From: {sender}\r\nSubject: {subject}\r\n"
              f"Date: {day} Mar 2026 10:00:00 +0000\r\nMessage-ID: {msgid}\r\n"
              f"References: {refs}\r\n\r\n").encode()
    return facts(number, NOW, number * 10, parse_headers(header))


def test_sort_by_subject_date_and_reverse_size() -> None:
    items = [_facts(1, "Re: beta", 3), _facts(2, "alpha", 2), _facts(3, "beta", 1)]
    assert sort(items, [(False, "SUBJECT")]) == [2, 1, 3]
    assert sort(items, [(False, "DATE")]) == [3, 2, 1]
    assert sort(items, [(True, "SIZE")]) == [3, 2, 1]


def test_orderedsubject_groups_by_base_subject() -> None:
    items = [_facts(1, "b", 1), _facts(2, "a", 2), _facts(3, "Re: b", 3), _facts(4, "Fwd: b", 4)]
    threads = ordered_subject(items)
    assert ThreadData(threads).encode() == b"* THREAD (1 (3)(4))(2)\r\n"


def test_references_links_replies_and_keeps_lone_messages_apart() -> None:
    items = [
        _facts(1, "topic", 1, msgid="<a@x>"),
        _facts(2, "other", 2, msgid="<b@x>"),
        _facts(3, "Re: topic", 3, msgid="<c@x>", refs="<a@x>"),
        _facts(4, "Re: topic", 4, msgid="<d@x>", refs="<a@x> <c@x>"),
        _facts(5, "Re: lost", 5, msgid="<e@x>", refs="<missing@x>"),
    ]
    threads = references(items)
    assert ThreadData(threads).encode() == b"* THREAD (1 3 4)(2)(5)\r\n"


def test_internal_date_format() -> None:
    assert format_internal_date(datetime(2026, 2, 7, 21, 52, 25, tzinfo=UTC)) == (
        "07-Feb-2026 21:52:25 +0000")
