"""Header section splitting, unfolding, RFC 2047 words, RFC 2231 parameters, addresses
and dates, as RFC example tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tidings.mime.addresses import Address, Group, parse_address_list
from tidings.mime.charset import decode_bytes
from tidings.mime.dates import parse_date
from tidings.mime.encoded_words import decode_encoded_words, encode_word
from tidings.mime.headers import find_body_start, parse_headers
from tidings.mime.params import parse_content_disposition, parse_content_type


def test_header_fields_are_unfolded_and_looked_up_case_insensitively() -> None:
    raw = b"Subject: one\r\n two\r\n\tthree\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody"
    headers = parse_headers(raw, 0, find_body_start(raw)[0])
    assert headers.get("SUBJECT") == "one two\tthree"
    assert headers.get_all("X-a") == ["1", "2"]
    assert headers.get("missing") is None
    assert raw[headers.all("x-a")[1].start : headers.all("x-a")[1].end] == b"x-a: 2\r\n"


@pytest.mark.parametrize(
    ("raw", "body_start", "blank"),
    [
        (b"A: 1\r\n\r\nbody", 8, True),
        (b"A: 1\n\nbody", 6, True),
        (b"\r\nbody", 2, True),
        (b"A: 1\r\nB: 2", 10, False),
        (b"", 0, False),
    ],
)
def test_body_starts_after_the_first_empty_line(raw: bytes, body_start: int, blank: bool) -> None:
    assert find_body_start(raw) == (body_start, blank)


def test_garbage_lines_and_mbox_from_lines_are_not_fields() -> None:
    raw = b"From joe@x Mon Jan  1 00:00:00 2024\r\nnot a header\r\nSubject : hi\r\n\r\n"
    headers = parse_headers(raw)
    assert [f.name for f in headers] == ["Subject"]
    assert headers.get("subject") == "hi"


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        # RFC 2047 §8 examples
        ("=?ISO-8859-1?Q?a?=", "a"),
        ("=?ISO-8859-1?Q?a?= b", "a b"),
        ("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a_b?=", "a b"),
        ("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"),
        ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        ("=?utf-8?B?Y2Fmw6k=?=", "café"),
        # a UTF-8 character split across two words is joined before decoding
        ("=?utf-8?B?w6k=?= =?utf-8?Q?=C3?= =?utf-8?Q?=A9?=", "éé"),
        ("=?Shift_JIS?B?k/qWe4zq?=", "日本語"),
        ("=?x-no-such-charset?Q?ok=FF?=", "ok\ufffd"),
        ("=?utf-8?B?w6k?=", "é"),  # missing padding
        ("=?utf-8?B?w!6k=?=", "é"),  # junk character inside
        ("=?utf-8?B?/w==?=", "\ufffd"),  # not UTF-8 after all
        ("=?utf-8*en?Q?lang?=", "lang"),
        ("plain text", "plain text"),
    ],
)
def test_encoded_words_decode_per_rfc_2047(value: str, decoded: str) -> None:
    assert decode_encoded_words(value) == decoded


def test_encode_word_round_trips_long_text() -> None:
    text = "Grüße aus Köln " * 10
    encoded = encode_word(text)
    assert all(len(word) <= 75 for word in encoded.split())
    assert decode_encoded_words(encoded) == text


@pytest.mark.parametrize(
    ("value", "mime_type", "params"),
    [
        ("text/plain; charset=us-ascii (Plain text)", "text/plain", (("charset", "us-ascii"),)),
        ('TEXT/HTML; Charset="UTF-8"', "text/html", (("charset", "UTF-8"),)),
        ('multipart/mixed; boundary="a;b\\"c"', "multipart/mixed", (("boundary", 'a;b"c'),)),
        # RFC 2231 §3 continuations and §4 charset
        (
            'message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub"',
            "message/external-body",
            (("access-type", "URL"), ("url", "ftp://cs.utk.edu/pub")),
        ),
        (
            "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
            "application/x-stuff",
            (("title", "This is ***fun***"),),
        ),
        (
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;"
            ' title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn\'t it!"',
            "application/x-stuff",
            (("title", "This is even more ***fun*** isn't it!"),),
        ),
        ('image/png; name="=?utf-8?B?w6kucG5n?="', "image/png", (("name", "é.png"),)),
        ("text", "text/plain", (("charset", "us-ascii"),)),
        ("", "text/plain", (("charset", "us-ascii"),)),
        ("text/plain; charset", "text/plain", ()),
    ],
)
def test_content_type_parameters_follow_rfc_2045_and_2231(
    value: str, mime_type: str, params: tuple[tuple[str, str], ...]
) -> None:
    ctype = parse_content_type(value)
    assert (ctype.mime_type, ctype.params) == (mime_type, params)


def test_rfc_2231_filename_in_iso_8859_1_and_plain_fallback_prefers_the_extended_one() -> None:
    value = "attachment; filename=\"fallback.txt\"; filename*=iso-8859-1''r%E9sum%E9.txt"
    disposition = parse_content_disposition(value)
    assert disposition is not None
    assert disposition.kind == "attachment"
    assert disposition.filename == "résumé.txt"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            '"Joe Q. Public" <john.q.public@example.com>',
            [Address("Joe Q. Public", None, "john.q.public", "example.com")],
        ),
        (
            "Mary Smith <mary@x.test>, jdoe@example.org",
            [
                Address("Mary Smith", None, "mary", "x.test"),
                Address(None, None, "jdoe", "example.org"),
            ],
        ),
        (
            "A Group:Ed Jones <c@a.test>,joe@where.test;",
            [
                Group(
                    "A Group",
                    (
                        Address("Ed Jones", None, "c", "a.test"),
                        Address(None, None, "joe", "where.test"),
                    ),
                )
            ],
        ),
        ("undisclosed-recipients:;", [Group("undisclosed-recipients", ())]),
        ("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
         [Address("Pete", None, "pete", "silly.test")]),
        ("jdoe@example.org (John Doe)", [Address("John Doe", None, "jdoe", "example.org")]),
        ("<@route.a,@route.b:joe@x.test>", [Address(None, "@route.a,@route.b", "joe", "x.test")]),
        ("=?utf-8?q?J=C3=B6rg?= <j@xn--bcher-kva.example>",
         [Address("=?utf-8?q?J=C3=B6rg?=", None, "j", "xn--bcher-kva.example")]),
        ("broken <unterminated@x", [Address("broken", None, "unterminated", "x")]),
        ("nodomain", [Address(None, None, "nodomain", "")]),
        ("", []),
    ],
)  # fmt: skip
def test_address_lists_parse_rfc_5322_appendix_a_shapes(
    value: str, expected: list[Address | Group]
) -> None:
    assert parse_address_list(value) == expected


def test_idn_hosts_and_encoded_names_are_decoded_for_display() -> None:
    (address,) = parse_address_list("=?utf-8?q?J=C3=B6rg?= <j@xn--bcher-kva.example>")
    assert isinstance(address, Address)
    assert address.display_name == "Jörg"
    assert address.host_unicode == "bücher.example"
    (utf8,) = parse_address_list("Jörg <jörg@bücher.example>")  # RFC 6532 raw UTF-8
    assert isinstance(utf8, Address) and utf8.mailbox == "jörg" and utf8.host == "bücher.example"


def _tz(hours: int, minutes: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 21 Nov 1997 09:55:06 -0600", datetime(1997, 11, 21, 9, 55, 6, tzinfo=_tz(-6))),
        ("Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", datetime(2003, 7, 1, 10, 52, 37, tzinfo=_tz(2))),
        ("21 Nov 97 09:55:06 GMT", datetime(1997, 11, 21, 9, 55, 6, tzinfo=UTC)),
        ("Thu, 13 Feb 49 23:32 -0000", datetime(2049, 2, 13, 23, 32, tzinfo=UTC)),
        ("Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330 (Newfoundland Time)",
         datetime(1969, 2, 13, 23, 32, tzinfo=_tz(-3, -30))),
        ("Mon, 7 Feb 1994 21:52:25 EST", datetime(1994, 2, 7, 21, 52, 25, tzinfo=_tz(-5))),
        ("2024-01-31 10:00:00 +0100", datetime(2024, 1, 31, 10, tzinfo=_tz(1))),
        ("Mon, 31 Feb 2020 10:00:00 +0000", None),
        ("yesterday", None),
        (None, None),
    ],
)  # fmt: skip
def test_dates_parse_rfc_5322_and_obsolete_forms(
    value: str | None, expected: datetime | None
) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        (b"caf\xc3\xa9", "utf-8", "café"),
        (b"caf\xe9", "iso-8859-1", "café"),
        (b"caf\xc3\xa9", "us-ascii", "café"),  # mislabelled UTF-8
        (b"caf\xe9", None, "café"),  # unlabelled Latin-1
        (b"caf\xe9", "x-unknown", "caf\ufffd"),
        (b"abc", "base64", "abc"),  # a bytes codec is not a charset
        (b"\x82\xa0", "Shift_JIS", "あ"),
    ],
)
def test_charset_decoding_falls_back_without_raising(
    data: bytes, charset: str | None, text: str
) -> None:
    assert decode_bytes(data, charset) == text
