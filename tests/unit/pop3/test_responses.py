"""POP3 reply serialisation: status lines, response codes, dot-stuffing, TOP."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.pop3.responses import (
    Continuation,
    Reply,
    ResponseCode,
    dot_stuff,
    err,
    multiline,
    ok,
    to_crlf,
    top_of,
)


def test_status_lines_carry_response_codes_in_brackets() -> None:
    assert ok("2 320").encode() == b"+OK 2 320\r\n"
    assert err("unable to lock maildrop", ResponseCode.IN_USE).encode() == (
        b"-ERR [IN-USE] unable to lock maildrop\r\n"
    )
    assert err("bad", ResponseCode.SYS_TEMP).encode() == b"-ERR [SYS/TEMP] bad\r\n"


def test_reply_text_cannot_inject_lines() -> None:
    assert ok("a\r\n+OK forged").encode() == b"+OK a  +OK forged\r\n"


def test_multiline_reply_ends_with_a_lone_dot() -> None:
    assert multiline("list follows", ["1 120", "2 200"]).encode() == (
        b"+OK list follows\r\n1 120\r\n2 200\r\n.\r\n"
    )
    assert multiline("none", []).encode() == b"+OK none\r\n.\r\n"


def test_lines_starting_with_a_dot_are_doubled() -> None:
    assert dot_stuff(b".hidden\r\nok\r\n.\r\n") == b"..hidden\r\nok\r\n..\r\n.\r\n"


def test_bare_lf_becomes_crlf_and_a_final_line_end_is_added() -> None:
    assert to_crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
    assert dot_stuff(b"a\n.b") == b"a\r\n..b\r\n.\r\n"
    assert dot_stuff(b"") == b".\r\n"


def test_retr_body_reply_is_status_then_stuffed_body() -> None:
    reply = Reply(True, "9 octets", body=b"Hi\r\n.\r\n")
    assert reply.encode() == b"+OK 9 octets\r\nHi\r\n..\r\n.\r\n"


def test_sasl_continuation_is_plus_space_base64() -> None:
    assert Continuation(b"").encode() == b"+ \r\n"
    assert Continuation(b"r=abc").encode() == b"+ cj1hYmM=\r\n"


MESSAGE = b"From: a\r\nSubject: s\r\n\r\nline1\r\nline2\r\nline3\r\n"


def test_top_zero_gives_header_and_blank_line() -> None:
    assert top_of(MESSAGE, 0) == b"From: a\r\nSubject: s\r\n\r\n"


def test_top_gives_the_first_body_lines() -> None:
    assert top_of(MESSAGE, 2) == b"From: a\r\nSubject: s\r\n\r\nline1\r\nline2\r\n"


def test_top_beyond_the_body_gives_the_whole_message() -> None:
    assert top_of(MESSAGE, 10) == MESSAGE
    assert top_of(MESSAGE, 3) == MESSAGE


def test_top_of_header_only_message_and_bare_lf_message() -> None:
    assert top_of(b"Subject: x\r\n", 5) == b"Subject: x\r\n"
    assert top_of(b"Subject: x\n\nbody\nmore\n", 1) == b"Subject: x\r\n\r\nbody\r\n"


def _unstuff(wire: bytes) -> bytes:
    assert wire.endswith(b".\r\n")
    lines = wire[:-3].split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


@given(st.binary(max_size=2000))
def test_dot_stuffing_round_trips_to_the_crlf_message(data: bytes) -> None:
    wire = dot_stuff(data)
    body = to_crlf(data)
    expected = body if not body or body.endswith(b"\r\n") else body + b"\r\n"
    assert _unstuff(wire) == expected
    # The terminator appears only at the end: no line of the body is a lone ".".
    assert b"\r\n.\r\n" not in wire[:-3] and not wire[:-3].startswith(b".\r\n")


@given(st.binary(max_size=2000), st.integers(0, 50))
def test_top_is_a_prefix_of_the_crlf_message(data: bytes, lines: int) -> None:
    assert to_crlf(data).startswith(top_of(data, lines))
