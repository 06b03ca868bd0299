"""Response serializer and modified UTF-7: RFC examples and round-trip properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.imap import commands_model as m
from tidings.imap import responses as r
from tidings.imap.mutf7 import decode_mutf7, decode_name, encode_mutf7, encode_name
from tidings.imap.wire import Atom, Literal8, encode_string, encode_value

from .helpers import parse_chunks


def test_tagged_with_code_and_untagged_status() -> None:
    assert r.Tagged("a1", "OK", "APPEND completed", r.Code("APPENDUID", "38505 3955")).encode() \
        == b"a1 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    assert r.Untagged("BYE", "bye\r\nnow").encode() == b"* BYE bye  now\r\n"


def test_strings_choose_quoted_or_literal() -> None:
    assert encode_string("plain") == b'"plain"'
    assert encode_string('a"b\\c') == b'"a\\"b\\\\c"'
    assert encode_string("caf\u00e9") == b"{5}\r\ncaf\xc3\xa9"
    assert encode_string("two\r\nlines") == b"{10}\r\ntwo\r\nlines"
    assert encode_value(None) == b"NIL"
    assert encode_value(Literal8(b"\x00\x01")) == b"~{2}\r\n\x00\x01"


def test_fetch_with_nested_envelope_and_flags() -> None:
    envelope = ["Mon, 7 Feb 1994", "Hi", [["Joe", None, "joe", "x.test"]], None]
    data = r.FetchData(12, (("FLAGS", [Atom("\\Seen")]), ("UID", 7), ("ENVELOPE", envelope),
                            ("BODY[TEXT]", b"hello\r\n")))
    assert data.encode() == (
        b'* 12 FETCH (FLAGS (\\Seen) UID 7 ENVELOPE ("Mon, 7 Feb 1994" "Hi" '
        b'(("Joe" NIL "joe" "x.test")) NIL) BODY[TEXT] {7}\r\nhello\r\n)\r\n'
    )


def test_list_with_child_info_and_quoted_name() -> None:
    data = r.ListData(("\\HasChildren",), "/", "My Folder", ("SUBSCRIBED",))
    assert data.encode() == (
        b'* LIST (\\HasChildren) "/" "My Folder" ("CHILDINFO" ("SUBSCRIBED"))\r\n')
    assert r.ListData((), "/", "INBOX").encode() == b'* LIST () "/" INBOX\r\n'


def test_status_esearch_vanished_and_counts() -> None:
    assert r.StatusData("INBOX", (("MESSAGES", 3), ("UIDNEXT", 9))).encode() == (
        b"* STATUS INBOX (MESSAGES 3 UIDNEXT 9)\r\n")
    assert r.ESearchData("a", True, (("MIN", 2), ("ALL", "2:4"))).encode() == (
        b'* ESEARCH (TAG "a") UID MIN 2 ALL 2:4\r\n')
    assert r.VanishedData("1:3", earlier=True).encode() == b"* VANISHED (EARLIER) 1:3\r\n"
    assert r.CountData(4, "EXISTS").encode() == b"* 4 EXISTS\r\n"
    assert r.SearchData((2, 5), modseq=9).encode() == b"* SEARCH 2 5 (MODSEQ 9)\r\n"


def test_thread_matches_rfc_5256_example() -> None:
    threads: tuple[r.ThreadNode, ...] = (
        (2, ()),
        (3, ((6, ((4, ((23, ()),)), (44, ((7, ((96, ()),)),)))),)),
    )
    assert r.ThreadData(threads).encode() == b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"


def test_namespace_quota_acl_and_id() -> None:
    assert r.NamespaceData((("", "/"),), (("Other Users/", "/"),), ()).encode() == (
        b'* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL\r\n')
    assert r.QuotaData("", (("STORAGE", 10, 512),)).encode() == b'* QUOTA "" (STORAGE 10 512)\r\n'
    assert r.AclData("INBOX", (("bob", "lrs"),)).encode() == b"* ACL INBOX bob lrs\r\n"
    assert r.MyRightsData("INBOX", "").encode() == b'* MYRIGHTS INBOX ""\r\n'
    assert r.IdData((("name", "Tidings"),)).encode() == b'* ID ("name" "Tidings")\r\n'
    assert r.Continuation(challenge=b"abc").encode() == b"+ YWJj\r\n"


def test_modified_utf7_matches_rfc_3501_example() -> None:
    name = "~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e"
    assert encode_mutf7(name) == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert decode_mutf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == name
    assert encode_mutf7("Tom & Jerry") == "Tom &- Jerry"


def test_utf8_accept_switches_to_raw_names() -> None:
    assert encode_name("Entw\u00fcrfe", utf8=True) == "Entw\u00fcrfe"
    assert encode_name("Entw\u00fcrfe", utf8=False) == "Entw&APw-rfe"
    assert decode_name("Entw\u00fcrfe", utf8=True) == "Entw\u00fcrfe"


@given(st.text())
def test_modified_utf7_round_trips(name: str) -> None:
    assert decode_mutf7(encode_mutf7(name)) == name
    assert encode_mutf7(name).isascii()


@given(st.binary(max_size=3000))
def test_serialized_strings_parse_back(data: bytes) -> None:
    wire = encode_string(data)
    if wire.startswith(b'"'):
        assert parse_chunks([b"t LOGIN x " + wire + b"\r\n"]) == [
            m.Login("t", "x", data.decode("ascii"))]
    else:
        events = parse_chunks([b"t APPEND INBOX " + wire + b"\r\n"])
        assert events == [m.Append("t", "INBOX", (m.AppendMessage((), None, data),))]
