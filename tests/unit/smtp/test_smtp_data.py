"""The DATA and BDAT readers: dot-stuffing, the one true end mark, SMTP smuggling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.smtp.data import BareLineEndings, ChunkReader, ContentDone, DataReader
from tidings.smtp.parser import NEED_DATA


def read_all(
    chunks: list[bytes], policy: BareLineEndings = BareLineEndings.REJECT, max_bytes: int = 10**6
) -> tuple[ContentDone | None, bytes]:
    """Feed chunks; return the result and what is left in the buffer after the end."""
    reader = DataReader(max_bytes, policy)
    buffer = bytearray()
    for index, chunk in enumerate(chunks):
        buffer += chunk
        done = reader.read(buffer)
        if done is not NEED_DATA:
            assert isinstance(done, ContentDone)
            return done, bytes(buffer) + b"".join(chunks[index + 1 :])
    return None, bytes(buffer)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


def test_message_ends_at_crlf_dot_crlf_and_leaves_the_rest() -> None:
    done, rest = read_all([b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"])
    assert done is not None
    assert done.content == b"Subject: x\r\n\r\nbody\r\n"
    assert rest == b"QUIT\r\n"
    assert not done.bare_line_ending and not done.too_big


def test_leading_dot_is_unstuffed() -> None:
    done, _ = read_all([b"..hidden\r\n...\r\n.x\r\n.\r\n"])
    assert done is not None and done.content == b".hidden\r\n..\r\nx\r\n"


def test_empty_message() -> None:
    done, _ = read_all([b".\r\n"])
    assert done is not None and done.content == b"" and done.size == 0


def test_too_big_message_is_read_to_the_end_but_not_kept() -> None:
    done, rest = read_all([b"x" * 50 + b"\r\n.\r\nNOOP\r\n"], max_bytes=20)
    assert done is not None and done.too_big and done.content == b""
    assert rest == b"NOOP\r\n"


SMUGGLED = b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nforged\r\n"


@pytest.mark.parametrize(
    "fake_end",
    [
        pytest.param(b"\n.\n", id="lf-dot-lf"),
        pytest.param(b"\n.\r\n", id="lf-dot-crlf"),
        pytest.param(b"\r.\r", id="cr-dot-cr"),
        pytest.param(b"\r.\n", id="cr-dot-lf"),
        pytest.param(b"\r\n.\n", id="crlf-dot-lf"),
        pytest.param(b"\r\n.\r", id="crlf-dot-cr"),
        pytest.param(b"\n.\r", id="lf-dot-cr"),
        pytest.param(b"\r\n\x00.\r\n", id="crlf-nul-dot-crlf"),
    ],
)
@pytest.mark.parametrize("policy", list(BareLineEndings))
def test_smuggling_fake_end_of_data_never_ends_the_message(
    fake_end: bytes, policy: BareLineEndings
) -> None:
    wire = b"Subject: one\r\n\r\nhello" + fake_end + SMUGGLED + b".\r\nQUIT\r\n"
    done, rest = read_all([wire], policy)
    assert done is not None
    assert rest == b"QUIT\r\n"  # only the real CRLF.CRLF ended the message
    assert b"forged" in done.content  # the "second message" is content of the first
    if fake_end != b"\r\n\x00.\r\n":
        assert done.bare_line_ending


def test_normalize_turns_bare_endings_into_crlf_inside_the_content() -> None:
    done, _ = read_all([b"a\nb\rc\r\n.\r\n"], BareLineEndings.NORMALIZE)
    assert done is not None and done.content == b"a\r\nb\r\nc\r\n"


def test_trailing_cr_waits_for_its_lf() -> None:
    reader = DataReader(1000)
    buffer = bytearray(b"abc\r")
    assert reader.read(buffer) is NEED_DATA
    assert buffer == b"\r"
    buffer += b"\n.\r\n"
    done = reader.read(buffer)
    assert isinstance(done, ContentDone) and done.content == b"abc\r\n"


data_bytes = st.lists(
    st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b"x\r\n", b"\x00", b"\xff"]),
    max_size=60,
).map(b"".join)


@given(body=data_bytes, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_chunking_never_changes_what_data_reads(body: bytes, cuts: list[int]) -> None:
    wire = body + b"\r\n.\r\nNEXT"
    whole = read_all([wire], BareLineEndings.NORMALIZE)
    assert read_all(split_at(wire, cuts), BareLineEndings.NORMALIZE) == whole


@given(body=data_bytes)
def test_normalized_content_never_holds_a_bare_ending(body: bytes) -> None:
    done, _ = read_all([body + b"\r\n.\r\n"], BareLineEndings.NORMALIZE)
    assert done is not None
    stripped = done.content.replace(b"\r\n", b"")
    assert b"\r" not in stripped and b"\n" not in stripped


def test_chunk_reader_reads_exactly_its_size_binary_safe() -> None:
    reader = ChunkReader(5, room=100)
    buffer = bytearray(b"\r\n.\r")
    assert reader.read(buffer) is NEED_DATA
    buffer += b"\nNOOP\r\n"
    done = reader.read(buffer)
    assert isinstance(done, ContentDone) and done.content == b"\r\n.\r\n"
    assert buffer == b"NOOP\r\n"


def test_chunk_reader_discards_beyond_room() -> None:
    reader = ChunkReader(10, room=4)
    buffer = bytearray(b"0123456789rest")
    done = reader.read(buffer)
    assert isinstance(done, ContentDone) and done.too_big and done.content == b""
    assert buffer == b"rest"


def reference_read(wire: bytes, policy: BareLineEndings) -> tuple[bytes, bool, bytes] | None:
    """RFC 5321 read literally, line by line: (content, bare seen, rest) or None."""
    out, bare, pos = [], False, 0
    while (end := wire.find(b"\r\n", pos)) >= 0:
        line, pos = wire[pos:end], end + 2
        if line == b".":
            return b"".join(out), bare, wire[pos:]
        line = line[1:] if line.startswith(b".") else line
        if b"\r" in line or b"\n" in line:
            bare = True
            if policy is BareLineEndings.NORMALIZE:
                line = line.replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        out.append(line + b"\r\n")
    return None


@given(body=data_bytes, cuts=st.lists(st.integers(0, 400), max_size=8),
       policy=st.sampled_from(list(BareLineEndings)))
def test_data_reads_what_a_line_by_line_reading_of_rfc_5321_gives(
    body: bytes, cuts: list[int], policy: BareLineEndings
) -> None:
    wire = body + b"\r\n.\r\nNEXT"
    expected = reference_read(wire, policy)
    done, rest = read_all(split_at(wire, cuts), policy)
    assert expected is not None and done is not None
    assert (done.content, done.bare_line_ending, rest) == expected
    assert done.size == len(expected[0])
