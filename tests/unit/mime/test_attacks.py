"""One named regression test per known hostile input: each must stay fast (linear)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tidings.mime.addresses import parse_address_list
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.imap_views import parse_section, section_bytes
from tidings.mime.params import parse_content_type
from tidings.mime.subject import base_subject
from tidings.mime.text import html_to_text
from tidings.mime.transfer import decode_quoted_printable

N = 100_000


def _fast(call: Callable[[], object], seconds: float = 3.0) -> None:
    started = time.perf_counter()
    call()
    assert time.perf_counter() - started < seconds


def test_html_with_unclosed_tag_runs_is_linear() -> None:
    # html.parser takes minutes on this; our scanner must not.
    _fast(lambda: html_to_text("<a" * N))
    _fast(lambda: html_to_text("</" * N))
    assert html_to_text("a<b") == "a<b"  # an unclosed "<" is shown as text


def test_unclosed_head_does_not_hide_the_document_from_dlp() -> None:
    assert html_to_text("<html><head><body>secret plan") == "secret plan"


def test_address_header_flooded_with_colons_is_linear() -> None:
    _fast(lambda: parse_address_list("a@b" + ":" * N))


def test_content_type_flooded_with_semicolons_is_linear() -> None:
    _fast(lambda: parse_content_type("text/plain" + ";" * N + "a=b"))


def test_thousands_of_adjacent_encoded_words_decode_in_linear_time() -> None:
    _fast(lambda: decode_encoded_words("=?utf-8?q?a?= " * N))
    assert decode_encoded_words("=?utf-8?q?a?= " * 3) == "aaa "


def test_subject_with_many_fwd_trailers_is_linear() -> None:
    _fast(lambda: base_subject("(fwd)" * N + "x"))
    assert base_subject("x" + " (fwd)" * 100) == "x"


def test_section_spec_with_huge_or_unicode_numbers_is_rejected_not_raised() -> None:
    assert parse_section("1" * 5000) is None  # int() would refuse > 4300 digits
    assert parse_section("²") is None  # str.isdigit() accepts it, int() does not
    _fast(lambda: section_bytes(b"x", "1." * N))


def test_quoted_printable_with_a_long_run_of_blanks_is_linear() -> None:
    _fast(lambda: decode_quoted_printable(b" " * N + b"x"))
    assert decode_quoted_printable(b"a  \r\nb \t\nc =\r\nd") == b"a\r\nb\nc d"
