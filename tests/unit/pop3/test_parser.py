"""POP3 command grammar (RFC 1939 §3, RFC 2449 §4), table tests and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.pop3 import parser as p


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"USER alice@example.test", p.User("alice@example.test")),
        (b"user alice", p.User("alice")),
        (b"PASS secret with spaces", p.Pass("secret with spaces")),
        (b"STAT", p.Stat()),
        (b"LIST", p.ListCommand(None)),
        (b"LIST 2", p.ListCommand(2)),
        (b"RETR 1", p.Retr(1)),
        (b"DELE 3", p.Dele(3)),
        (b"TOP 1 10", p.Top(1, 10)),
        (b"TOP 1 0", p.Top(1, 0)),
        (b"UIDL", p.Uidl(None)),
        (b"uidl 4", p.Uidl(4)),
        (b"NOOP", p.Noop()),
        (b"RSET", p.Rset()),
        (b"QUIT", p.Quit()),
        (b"CAPA", p.Capa()),
        (b"STLS", p.Stls()),
        (b"AUTH", p.Auth(None)),
        (b"AUTH plain", p.Auth("PLAIN")),
        (b"AUTH PLAIN AGFsaWNlAHNlY3JldA==", p.Auth("PLAIN", "AGFsaWNlAHNlY3JldA==")),
        (b"AUTH PLAIN =", p.Auth("PLAIN", "=")),
        (b"APOP mrose c4c9334bac560ecc979e58001b3e22fb", p.Apop()),
    ],
)
def test_rfc_commands_parse_to_their_types(line: bytes, expected: p.Command) -> None:
    assert p.parse_command(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"XYZZY",
        b"RETR",
        b"RETR 0",
        b"RETR -1",
        b"RETR x",
        b"RETR 1 2",
        b"LIST 99999999999",
        b"DELE",
        b"TOP 1",
        b"TOP 1 x",
        b"STAT 1",
        b"QUIT now",
        b"USER",
        b"USER a b",
        b"PASS",
        b"RETR  1",
        b"LIST 1 ",
        b"RETR \xff",
        b"NOOP\x00",
        b"AUTH A B C",
        b"RETR \xd9\xa1",
    ],
)
def test_bad_lines_are_malformed_not_errors(line: bytes) -> None:
    assert isinstance(p.parse_command(line), p.Malformed)


def test_reader_splits_crlf_and_bare_lf_lines() -> None:
    reader = p.LineReader()
    reader.feed(b"STAT\r\nNOOP\nQU")
    assert reader.next_line() == b"STAT"
    assert reader.next_line() == b"NOOP"
    assert reader.next_line() is p.NEED_DATA
    reader.feed(b"IT\r\n")
    assert reader.next_line() == b"QUIT"


def test_command_of_255_octets_with_crlf_is_accepted_and_256_is_not() -> None:
    reader = p.LineReader()
    ok_line = b"USER " + b"a" * 248 + b"\r\n"
    assert len(ok_line) == 255
    reader.feed(ok_line + b"USER " + b"a" * 249 + b"\r\nNOOP\r\n")
    assert reader.next_line() == ok_line[:-2]
    assert reader.next_line() == p.LineTooLong(255)
    assert reader.next_line() == b"NOOP"


def test_endless_line_is_reported_once_and_skipped_to_its_end() -> None:
    reader = p.LineReader()
    reader.feed(b"X" * 1000)
    assert reader.next_line() == p.LineTooLong(255)
    reader.feed(b"Y" * 5000)
    assert reader.next_line() is p.NEED_DATA
    assert reader.buffered == 0  # memory stays bounded
    reader.feed(b"YY\r\nSTAT\r\n")
    assert reader.next_line() == b"STAT"


def test_discard_drops_pipelined_bytes() -> None:
    reader = p.LineReader()
    reader.feed(b"STLS\r\nUSER evil\r\n")
    assert reader.next_line() == b"STLS"
    reader.discard()
    assert reader.next_line() is p.NEED_DATA


def _events(chunks: list[bytes]) -> list[object]:
    reader = p.LineReader()
    events: list[object] = []
    for chunk in chunks:
        reader.feed(chunk)
        while not isinstance(line := reader.next_line(), p.NeedData):
            events.append(line if isinstance(line, p.LineTooLong) else p.parse_command(line))
    return events


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    return [*pieces, data[start:]]


_COMMANDS = st.sampled_from(
    [
        b"STAT",
        b"LIST",
        b"LIST 3",
        b"RETR 2",
        b"TOP 1 5",
        b"UIDL",
        b"USER bob",
        b"PASS a b",
        b"NOOP",
        b"QUIT",
        b"BOGUS",
        b"RETR",
        b"X" * 300,
        b"AUTH PLAIN =",
        b"\xff\xfe",
    ]
)


@given(st.lists(_COMMANDS, max_size=12), st.lists(st.integers(0, 4000), max_size=8))
def test_chunking_never_changes_parsed_commands(lines: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(line + b"\r\n" for line in lines)
    assert _events(_split(wire, cuts)) == _events([wire])


@given(st.binary(max_size=4096), st.lists(st.integers(0, 4096), max_size=6))
def test_any_bytes_give_commands_or_malformed(data: bytes, cuts: list[int]) -> None:
    for event in _events(_split(data, cuts)):
        assert isinstance(event, p.Command | p.Malformed | p.LineTooLong)
