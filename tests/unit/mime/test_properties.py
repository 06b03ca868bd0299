"""Hypothesis properties: no input makes the MIME code raise, and every section offset
lies inside the message."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings.mime.addresses import parse_address_list
from tidings.mime.dates import parse_date
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.headers import find_body_start
from tidings.mime.imap_views import binary_bytes, body, body_structure, envelope, section_bytes
from tidings.mime.index import parse_headers_for_store
from tidings.mime.params import parse_content_disposition, parse_content_type
from tidings.mime.structure import Part, parse_message, walk
from tidings.mime.subject import base_subject
from tidings.mime.transfer import decode_base64, decode_quoted_printable

_PIECES = [
    b"\r\n", b"\n", b"\r\n\r\n", b"\n\n", b"--b", b"--b--", b"--c", b" ", b"\t", b":",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: multipart/digest; boundary=c\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Type: message/global\n",
    b"Content-Type: text/html; charset=utf-8\r\n", b"Content-Type: multipart/alternative\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Transfer-Encoding: x-uue\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1=x\r\n",
    b"Subject: =?utf-8?b?w6k=?= =?shift_jis?B?gqA=?= =?bogus?q?=FF?=\r\n",
    b"From: a <b@c>, g: d@e;, \"q\\\"\" <x@[1.2.3.4]>\r\n", b"Date: 1 Jan 99 10:00 EST\r\n",
    b"=\r\n", b"=4", b"=41", b"<p>&amp;</p>", b"\xff\xfe", b"\xc3\xa9",
]  # fmt: skip

messages = st.one_of(
    st.binary(max_size=2048),
    st.lists(st.sampled_from(_PIECES) | st.binary(max_size=12), max_size=60).map(b"".join),
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_offsets(part: Part, size: int) -> None:
    assert 0 <= part.start <= part.body_start <= part.end <= size
    for child in part.children:
        assert part.body_start <= child.start and child.end <= part.end
        _check_offsets(child, size)
    if part.message is not None:
        assert part.message.start == part.body_start and part.message.end == part.end
        _check_offsets(part.message, size)


@SETTINGS
@given(messages)
def test_any_bytes_parse_without_raising_and_offsets_stay_inside(raw: bytes) -> None:
    root = parse_message(raw)
    _check_offsets(root, len(raw))
    assert body_structure(root).as_tuple() is not None
    assert body(root).as_tuple() is not None
    assert envelope(root.headers).as_tuple() is not None


@SETTINGS
@given(messages)
def test_every_numbered_section_is_a_slice_of_the_message(raw: bytes) -> None:
    root = parse_message(raw)
    for number, part in walk(root):
        data = section_bytes(raw, number, root)
        assert data == raw[part.body_start : part.end]
        mime = section_bytes(raw, number + ".MIME", root)
        assert mime == raw[part.start : part.body_start]
        assert binary_bytes(raw, number, root) is not None
    for spec in ("HEADER", "TEXT", "HEADER.FIELDS (From Subject)", "1.HEADER", "2.1.TEXT"):
        data = section_bytes(raw, spec, root)
        assert data is None or len(data) <= len(raw) + 2


@SETTINGS
@given(messages)
def test_summary_never_raises_and_respects_the_text_cap(raw: bytes) -> None:
    summary = parse_headers_for_store(raw, max_text_chars=500)
    assert len(summary.text) <= 500


@SETTINGS
@given(st.text(max_size=300))
def test_header_value_parsers_never_raise(value: str) -> None:
    decode_encoded_words(value)
    parse_address_list(value)
    parse_content_type(value)
    parse_content_disposition(value)
    parse_date(value)
    base_subject(value)
    section_bytes(b"Subject: x\r\n\r\nbody", value)


@SETTINGS
@given(st.binary(max_size=500))
def test_transfer_decoders_never_raise(data: bytes) -> None:
    decode_base64(data)
    decode_quoted_printable(data)


def _body_start_by_definition(raw: bytes) -> tuple[int, bool]:
    """The first empty line, read literally: the earliest LF followed by LF or CRLF."""
    if raw.startswith(b"\r\n"):
        return 2, True
    if raw.startswith(b"\n"):
        return 1, True
    for at in range(len(raw)):
        if raw.startswith(b"\n\n", at):
            return at + 2, True
        if raw.startswith(b"\n\r\n", at):
            return at + 3, True
    return len(raw), False


@given(st.lists(st.sampled_from([b"a", b":", b" ", b"\r", b"\n", b"\r\n", b"\n\r\n"]),
                max_size=40).map(b"".join))
def test_the_body_starts_after_the_first_empty_line(raw: bytes) -> None:
    assert find_body_start(raw) == _body_start_by_definition(raw)
