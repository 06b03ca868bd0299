"""Hypothesis properties and a seeded fuzz run of the IMAP parser (never raises,
chunking-invariant, strings and literals round-trip)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.imap import commands_model as m
from tidings.imap.parser import Malformed
from tidings.imap.wire import encode_astring, encode_string

from .helpers import parse_chunks, split_at

CORPUS = Path(__file__).parents[2] / "corpus" / "imap"
SEEDS = [p.read_bytes() for p in sorted(CORPUS.iterdir())]

_words = st.sampled_from([
    b"a1", b"UID", b"FETCH", b"SEARCH", b"STORE", b"APPEND", b"LOGIN", b"LIST", b"SELECT",
    b"1:*", b"$", b"(", b")", b"[", b"]", b"<0.5>", b"BODY[]", b"{3}\r\nabc", b"{2+}\r\nab",
    b"~{1}\r\n\x00", b'"q\\"x"', b"NIL", b"ALL", b"OR", b"NOT", b"FLAGS", b"\\Seen", b"\r\n",
    b" ", b"CHANGEDSINCE", b"QRESYNC", b"RETURN", b"{", b"}", b'"', b"\\",
])
_commands = st.lists(_words, max_size=30).map(b" ".join)


def _is_event(event: object) -> bool:
    return isinstance(event, m.Command | Malformed | m.IdleDone | m.SASLResponse)


@given(st.binary(max_size=4096))
def test_any_bytes_give_commands_or_malformed(data: bytes) -> None:
    for event in parse_chunks([data]):
        assert _is_event(event)


@given(wire=_commands, cuts=st.lists(st.integers(0, 4096), max_size=8))
def test_chunking_never_changes_parsed_commands(wire: bytes, cuts: list[int]) -> None:
    wire += b"\r\n"
    assert parse_chunks(split_at(wire, cuts)) == parse_chunks([wire])


@given(text=st.text(max_size=200), password=st.binary(max_size=300))
def test_strings_round_trip_through_quoted_or_literal(text: str, password: bytes) -> None:
    password = password.replace(b"\x00", b"")
    wire = b"t LOGIN " + encode_astring(text) + b" " + encode_string(password) + b"\r\n"
    events = parse_chunks([wire])
    assert len(events) == 1
    command = events[0]
    assert isinstance(command, m.Login)
    assert command.user == text
    expected = password.decode("utf-8", "strict") if _utf8(password) else password.decode(
        "latin-1")
    assert command.password == expected


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(body=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2100), max_size=6))
def test_append_literal_bytes_arrive_unchanged(body: bytes, cuts: list[int]) -> None:
    wire = b"t APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\nu NOOP\r\n"
    events = parse_chunks(split_at(wire, cuts))
    assert events == [m.Append("t", "INBOX", (m.AppendMessage((), None, body),)), m.Noop("u")]


@settings(max_examples=300)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_mutations_of_the_seed_corpus_never_crash(seed: bytes, data: st.DataObject) -> None:
    mutated = bytearray(seed)
    for _ in range(data.draw(st.integers(0, 8))):
        if not mutated:
            break
        position = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["flip", "drop", "dup", "insert"]))
        if action == "flip":
            mutated[position] = data.draw(st.integers(0, 255))
        elif action == "drop":
            del mutated[position]
        elif action == "dup":
            mutated[position:position] = mutated[position : position + 8]
        else:
            mutated[position:position] = data.draw(st.sampled_from([b"{", b"}", b"\r\n", b"(",
                                                                    b")", b"~", b'"', b"+"]))
    cuts = data.draw(st.lists(st.integers(0, len(mutated)), max_size=5))
    events = parse_chunks(split_at(bytes(mutated), cuts))
    assert all(_is_event(e) for e in events)
    assert events == parse_chunks([bytes(mutated)])


def test_every_seed_parses_to_events() -> None:
    for seed in SEEDS:
        assert all(_is_event(e) for e in parse_chunks([seed]))
