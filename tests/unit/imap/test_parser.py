"""IMAP parser: RFC examples as table tests, literals, limits and resynchronisation."""

from __future__ import annotations

from datetime import date

import pytest

from tidings.imap import commands_model as m
from tidings.imap.parser import NEED_DATA, ContinueRequest, IMAPParser, Limits, Malformed
from tidings.imap.search_model import (
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
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
from tidings.imap.sequence import SequenceSet
from tidings.model.mail import FlagOperation

from .helpers import parse_chunks, parse_one


def test_login_with_quoted_and_atom_arguments() -> None:
    command = parse_one(b'a1 LOGIN joe "se\\"cret"\r\n')
    assert command == m.Login("a1", "joe", 'se"cret')


def test_login_repr_hides_the_password() -> None:
    assert "hunter2" not in repr(m.Login("a", "joe", "hunter2"))


def test_synchronising_literal_asks_for_continuation_before_the_data() -> None:
    parser = IMAPParser()
    parser.receive_data(b"a1 LOGIN {3}\r\n")
    assert isinstance(parser.next_event(), ContinueRequest)
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"joe {6+}\r\nsecret\r\n")
    assert parser.next_event() == m.Login("a1", "joe", "secret")


@pytest.mark.parametrize("marker", [b"{6+}", b"{6-}"])
def test_non_synchronising_literal_needs_no_continuation(marker: bytes) -> None:
    parser = IMAPParser()
    parser.receive_data(b"a1 LOGIN joe " + marker + b"\r\nsecret\r\n")
    assert parser.next_event() == m.Login("a1", "joe", "secret")


def test_uid_fetch_with_sections_partials_and_modifiers() -> None:
    command = parse_one(
        b"a2 UID FETCH 1:*,7 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From to)]<0.100> "
        b"BINARY[1.2] BINARY.SIZE[1] BODY[] MODSEQ EMAILID) (CHANGEDSINCE 12 VANISHED)\r\n"
    )
    assert isinstance(command, m.Fetch)
    assert command.uid and command.vanished and command.changed_since == 12
    assert command.sequence == SequenceSet(((1, None), (7, 7)))
    body = command.attributes[1]
    assert body == m.FetchAttribute(
        "BODY", m.Section((1, 2), "HEADER.FIELDS", ("From", "to")), (0, 100), peek=True
    )
    assert command.attributes[2] == m.FetchAttribute("BINARY", m.Section((1, 2)))
    assert command.attributes[3] == m.FetchAttribute("BINARY.SIZE", m.Section((1,)))
    assert command.attributes[4] == m.FetchAttribute("BODY", m.Section())


def test_fetch_macros_expand() -> None:
    command = parse_one(b"x FETCH 1 FAST\r\n")
    assert isinstance(command, m.Fetch)
    assert [a.name for a in command.attributes] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]


def test_vanished_without_uid_is_malformed() -> None:
    assert isinstance(parse_one(b"x FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n"), Malformed)


def test_search_with_every_kind_of_key() -> None:
    command = parse_one(
        b"a3 UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR (FROM \"x\" SINCE 1-Feb-2024) "
        b"NOT SEEN UID 1:5 MODSEQ \"/flags/\\\\draft\" all 62 YOUNGER 30 SAVEDATESUPPORTED "
        b"LARGER 10 BODY {3+}\r\nab\xc3 HEADER X-Spam yes KEYWORD $Junk SENTON \"2-Mar-2020\" "
        b"EMAILID M1 $ NEW\r\n"
    )
    assert isinstance(command, m.Search)
    assert command.uid and command.charset == "UTF-8"
    assert command.returns == ("MIN", "COUNT", "SAVE")
    assert isinstance(command.key, SearchAnd)
    keys = command.key.keys
    assert keys[0] == SearchOr(
        SearchAnd((SearchHeader("from", "x"), SearchDate("internal", "since", date(2024, 2, 1)))),
        SearchNot(SearchFlag("\\Seen")),
    )
    assert keys[1] == SearchSequence(SequenceSet(((1, 5),)), uid=True)
    assert keys[2] == SearchModSeq(62, ("/flags/\\draft", "all"))
    assert keys[3] == SearchWithin(older=False, seconds=30)
    assert keys[4] == SearchSaveDateSupported()
    assert keys[5] == SearchSize(larger=True, size=10)
    assert isinstance(keys[6], SearchText) and keys[6].field == "body"
    assert keys[7] == SearchHeader("x-spam", "yes")
    assert keys[8] == SearchFlag("$Junk")
    assert keys[9] == SearchDate("sent", "on", date(2020, 3, 2))
    assert keys[10] == SearchObjectId("emailid", "M1")
    assert keys[11] == SearchSequence(SequenceSet(saved=True))
    assert keys[12] == SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))


def test_search_all_without_charset() -> None:
    assert parse_one(b"t SEARCH ALL\r\n") == m.Search("t", SearchAll())


def test_unknown_search_key_is_malformed_with_tag() -> None:
    event = parse_one(b"t SEARCH FROB 1\r\n")
    assert isinstance(event, Malformed) and event.tag == "t" and "FROB" in event.reason


def test_append_multi_with_flags_date_and_binary_literal() -> None:
    command = parse_one(
        b'a4 APPEND INBOX (\\Seen) " 7-Feb-1994 21:52:25 -0800" {3+}\r\nabc ~{2+}\r\n\x00x\r\n'
    )
    assert isinstance(command, m.Append)
    first, second = command.messages
    assert first.flags == ("\\Seen",) and first.data == b"abc" and not first.binary
    assert first.internal_date is not None and first.internal_date.utcoffset() is not None
    assert first.internal_date.day == 7 and first.internal_date.hour == 21
    assert second.data == b"\x00x" and second.binary


def test_select_with_qresync_parameters() -> None:
    command = parse_one(
        b"a5 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211 (1:10 5:100)))\r\n"
    )
    assert command == m.Select(
        "a5", "INBOX", qresync=m.QResyncParams(
            67890007, 20050715194045000, SequenceSet(((41, 41), (43, 211))),
            (SequenceSet(((1, 10),)), SequenceSet(((5, 100),))),
        ),
    )


def test_examine_with_condstore() -> None:
    assert parse_one(b"a EXAMINE Sent (CONDSTORE)\r\n") == m.Select(
        "a", "Sent", readonly=True, condstore=True)


def test_list_extended_with_status_return() -> None:
    command = parse_one(
        b'a6 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("%" "Other Users/*") '
        b"RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n"
    )
    assert command == m.List(
        "a6", "", ("%", "Other Users/*"), frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
        frozenset({"CHILDREN", "STATUS"}), ("MESSAGES", "UNSEEN"), extended=True,
    )


def test_plain_list_and_lsub() -> None:
    assert parse_one(b'a LIST "" *\r\n') == m.List("a", "", ("*",))
    assert parse_one(b"a LSUB \"\" %\r\n") == m.List("a", "", ("%",), lsub=True)


def test_store_with_unchangedsince_and_silent() -> None:
    command = parse_one(b"a7 STORE 1:3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted $Junk)\r\n")
    assert command == m.Store(
        "a7", SequenceSet(((1, 3),)), FlagOperation.ADD, ("\\Deleted", "$Junk"), silent=True,
        unchanged_since=5,
    )


def test_store_with_bare_flags() -> None:
    command = parse_one(b"a UID STORE 4 -FLAGS \\Seen \\Flagged\r\n")
    assert command == m.Store(
        "a", SequenceSet(((4, 4),)), FlagOperation.REMOVE, ("\\Seen", "\\Flagged"), uid=True)


def test_sort_and_thread() -> None:
    assert parse_one(b"a SORT (REVERSE DATE SUBJECT) UTF-8 ALL\r\n") == m.Sort(
        "a", ((True, "DATE"), (False, "SUBJECT")), "UTF-8", SearchAll())
    assert parse_one(b"b UID THREAD REFERENCES UTF-8 SUBJECT x\r\n") == m.Thread(
        "b", "REFERENCES", "UTF-8", SearchHeader("subject", "x"), uid=True)


def test_authenticate_with_initial_response_and_empty_marker() -> None:
    command = parse_one(b"b1 AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n")
    assert command == m.Authenticate("b1", "PLAIN", b"\x00joe\x00secret")
    assert parse_one(b"b2 authenticate plain =\r\n") == m.Authenticate("b2", "PLAIN", b"")
    assert parse_one(b"b3 AUTHENTICATE SCRAM-SHA-256\r\n") == m.Authenticate(
        "b3", "SCRAM-SHA-256", None)


def test_small_commands() -> None:
    assert parse_one(b"c ID (\"name\" \"x\" \"version\" NIL)\r\n") == m.Id(
        "c", (("name", "x"), ("version", None)))
    assert parse_one(b"c ID NIL\r\n") == m.Id("c", None)
    assert parse_one(b"c ENABLE IMAP4rev2 CONDSTORE\r\n") == m.Enable(
        "c", ("IMAP4REV2", "CONDSTORE"))
    assert parse_one(b"c CREATE Foo (USE (\\Sent))\r\n") == m.Create("c", "Foo", ("\\Sent",))
    assert parse_one(b"c RENAME a b\r\n") == m.Rename("c", "a", "b")
    assert parse_one(b"c UID EXPUNGE 3:5\r\n") == m.Expunge("c", SequenceSet(((3, 5),)))
    assert parse_one(b"c STATUS INBOX (MESSAGES SIZE)\r\n") == m.Status(
        "c", "INBOX", ("MESSAGES", "SIZE"))
    assert parse_one(b"c SETACL Foo bob +lrs\r\n") == m.SetAcl("c", "Foo", "bob", "+lrs")
    assert parse_one(b"c LISTRIGHTS Foo bob\r\n") == m.ListRights("c", "Foo", "bob")
    assert parse_one(b"c UID MOVE 1:2 Trash\r\n") == m.Copy(
        "c", SequenceSet(((1, 2),)), "Trash", uid=True, move=True)
    assert parse_one(b"c COMPRESS DEFLATE\r\n") == m.Compress("c", "DEFLATE")
    assert parse_one(b"c GETQUOTAROOT INBOX\r\n") == m.GetQuotaRoot("c", "INBOX")
    assert parse_one(b"c idle\r\n") == m.Idle("c")


def test_syntax_error_resynchronises_at_the_next_line() -> None:
    events = parse_chunks([b"a1 FETCH x y z\r\na2 NOOP\r\n"])
    assert isinstance(events[0], Malformed) and events[0].tag == "a1"
    assert events[1] == m.Noop("a2")


def test_missing_tag_is_malformed_without_tag() -> None:
    event = parse_one(b"\r\n")
    assert isinstance(event, Malformed) and event.tag is None


def test_line_over_the_limit_is_refused_and_the_next_command_parses() -> None:
    limits = Limits(max_line=100)
    events = parse_chunks([b"a1 NOOP " + b"x" * 300, b"yyy\r\na2 NOOP\r\n"], limits)
    assert isinstance(events[0], Malformed) and events[0].code == "TOOBIG"
    assert events[-1] == m.Noop("a2")


def test_oversized_synchronising_literal_is_refused_without_continuation() -> None:
    parser = IMAPParser(Limits(max_literal=10))
    parser.receive_data(b"a1 APPEND INBOX {11}\r\n")
    event = parser.next_event()
    assert isinstance(event, Malformed) and event.tag == "a1" and event.code == "TOOBIG"
    parser.receive_data(b"a2 NOOP\r\n")
    assert parser.next_event() == m.Noop("a2")


def test_oversized_non_synchronising_literal_is_skipped() -> None:
    events = parse_chunks([b"a1 APPEND INBOX {11+}\r\n", b"a2 NOOP\r\nxxx", b"\r\na3 NOOP\r\n"],
                          Limits(max_literal=10))
    assert isinstance(events[0], Malformed)
    assert events[1:] == [m.Noop("a3")]


def test_nesting_deeper_than_the_limit_is_malformed() -> None:
    key = b"(" * 50 + b"ALL" + b")" * 50
    event = parse_one(b"a SEARCH " + key + b"\r\n")
    assert isinstance(event, Malformed) and "deep" in event.reason


def test_idle_done_and_sasl_lines() -> None:
    parser = IMAPParser()
    parser.expect_line("idle")
    parser.receive_data(b"done\r\n")
    assert parser.next_event() == m.IdleDone()
    parser.expect_line("sasl")
    parser.receive_data(b"AGEAYg==\r\n")
    assert parser.next_event() == m.SASLResponse(b"\x00a\x00b")
    parser.expect_line("sasl")
    parser.receive_data(b"*\r\n")
    assert parser.next_event() == m.SASLResponse(b"", cancelled=True)


def test_literals_outside_append_have_a_small_limit() -> None:
    parser = IMAPParser(Limits(max_literal=1000, max_other_literal=10))
    parser.receive_data(b"a1 LOGIN {11}\r\n")
    event = parser.next_event()
    assert isinstance(event, Malformed) and event.code == "TOOBIG"
    parser.receive_data(b"a2 APPEND INBOX {11}\r\n")
    assert isinstance(parser.next_event(), ContinueRequest)
