"""ENVELOPE, BODY/BODYSTRUCTURE and section extraction against RFC 9051 examples."""

from __future__ import annotations

import pytest

from tidings.mime.imap_views import (
    Section,
    UnknownCTE,
    binary_bytes,
    binary_size,
    body,
    body_structure,
    envelope,
    parse_section,
    section_bytes,
)
from tidings.mime.structure import parse_message

RFC_ENVELOPE_MESSAGE = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"Hello\r\n"
)


def test_envelope_matches_the_rfc_9051_fetch_example() -> None:
    # RFC 9051 §7.5.2 (FETCH response example).
    gray = ("Terry Gray", None, "gray", "cac.washington.edu")
    expected = (
        "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
        "IMAP4rev2 WG mtg summary and minutes",
        (gray,),
        (gray,),
        (gray,),
        ((None, None, "imap", "cac.washington.edu"),),
        (
            (None, None, "minutes", "CNRI.Reston.VA.US"),
            ("John Klensin", None, "KLENSIN", "MIT.EDU"),
        ),
        None,
        None,
        "<B27397-0100000@cac.washington.edu>",
    )
    assert envelope(parse_message(RFC_ENVELOPE_MESSAGE).headers).as_tuple() == expected


def test_envelope_sender_and_reply_to_default_to_from_even_when_empty() -> None:
    raw = b"From: a@b.test\r\nSender:\r\nReply-To: r@b.test\r\n\r\n"
    result = envelope(parse_message(raw).headers)
    assert result.sender == result.from_
    assert result.reply_to is not None and result.reply_to[0].mailbox == "r"


def _rfc_body_example() -> bytes:
    # Two parts shaped like RFC 9051 §7.5.2's BODY example: 1152 octets in 23 lines,
    # and a 4554-octet, 73-line base64 attachment.
    text = b"".join(b"x" * 48 + b"\r\n" for _ in range(22)) + b"y" * 52
    assert (len(text), text.count(b"\n") + 1) == (1152, 23)
    attachment = b"".join(b"A" * 61 + b"\r\n" for _ in range(72)) + b"A" * 18
    assert (len(attachment), attachment.count(b"\n") + 1) == (4554, 73)
    return (
        b"Content-Type: MULTIPART/MIXED; BOUNDARY=x\r\n\r\n"
        b"--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n" + text + b"\r\n"
        b"--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
        b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
        b"Content-Description: Compiler diff\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
        + attachment
        + b"\r\n--x--\r\n"
    )


def test_body_matches_the_rfc_9051_example() -> None:
    expected = (
        ("TEXT", "PLAIN", ("CHARSET", "US-ASCII"), None, None, "7BIT", 1152, 23),
        ("TEXT", "PLAIN", ("CHARSET", "US-ASCII", "NAME", "cc.diff"),
         "<960723163407.20117h@cac.washington.edu>", "Compiler diff", "BASE64", 4554, 73),
        "MIXED",
    )  # fmt: skip
    assert body(_rfc_body_example()).as_tuple() == expected


def test_bodystructure_adds_extension_data_to_every_level() -> None:
    structure = body_structure(_rfc_body_example()).as_tuple()
    assert isinstance(structure, tuple)
    assert structure[2:] == ("MIXED", ("BOUNDARY", "x"), None, None, None)
    first = structure[0]
    assert isinstance(first, tuple) and first[8:] == (None, None, None, None)


def test_message_without_content_type_is_text_plain_us_ascii() -> None:
    assert body(b"Subject: x\r\n\r\nhi\r\n").as_tuple() == (
        "TEXT", "PLAIN", ("CHARSET", "us-ascii"), None, None, "7BIT", 4, 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "section"),
    [
        ("", Section()),
        ("1.2.3", Section((1, 2, 3))),
        ("header", Section((), "HEADER")),
        ("4.2.MIME", Section((4, 2), "MIME")),
        ('HEADER.FIELDS (From "Subject")', Section((), "HEADER.FIELDS", ("From", "Subject"))),
        ("3.HEADER.FIELDS.NOT (X-A)", Section((3,), "HEADER.FIELDS.NOT", ("X-A",))),
        ("MIME", None),
        ("0", None),
        ("1.BOGUS", None),
        ("HEADER.FIELDS", None),
        ("HEADER.FIELDS ()", None),
        ("TEXT (x)", None),
    ],
)
def test_section_specs_parse_per_rfc_9051_grammar(spec: str, section: Section | None) -> None:
    assert parse_section(spec) == section


# The RFC 9051 §6.4.5 example message, cut down: a multipart/mixed whose part 3 is a
# message/rfc822 containing a multipart/alternative, and part 4 a multipart/mixed.
NESTED = (
    b"Subject: top\r\nContent-Type: MULTIPART/MIXED; boundary=o\r\n\r\n"
    b"--o\r\nContent-Type: TEXT/PLAIN\r\n\r\none\r\n"
    b"--o\r\nContent-Type: APPLICATION/OCTET-STREAM\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAEC\r\n"
    b"--o\r\nContent-Type: MESSAGE/RFC822\r\n\r\n"
    b"Subject: inner\r\nContent-Type: MULTIPART/ALTERNATIVE; boundary=i\r\n\r\n"
    b"--i\r\nContent-Type: TEXT/PLAIN\r\n\r\nthree-one\r\n"
    b"--i\r\nContent-Type: TEXT/RICHTEXT\r\n\r\nthree-two\r\n--i--\r\n"
    b"--o\r\nContent-Type: MULTIPART/MIXED; boundary=m\r\n\r\n"
    b"--m\r\nContent-Type: IMAGE/GIF\r\n\r\nfour-one\r\n"
    b"--m\r\nContent-Type: MESSAGE/RFC822\r\n\r\n"
    b"Subject: deep\r\nContent-Type: MULTIPART/MIXED; boundary=d\r\n\r\n"
    b"--d\r\nContent-Type: TEXT/PLAIN\r\n\r\nfour-two-one\r\n"
    b"--d\r\nContent-Type: MULTIPART/ALTERNATIVE; boundary=e\r\n\r\n"
    b"--e\r\nContent-Type: TEXT/PLAIN\r\n\r\nfour-two-two-one\r\n"
    b"--e\r\nContent-Type: TEXT/RICHTEXT\r\n\r\nfour-two-two-two\r\n"
    b"--e--\r\n--d--\r\n--m--\r\n--o--\r\n"
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1", b"one"),
        ("2", b"AAEC"),
        ("3.HEADER", b"Subject: inner\r\nContent-Type: MULTIPART/ALTERNATIVE; boundary=i\r\n\r\n"),
        ("3.1", b"three-one"),
        ("3.2", b"three-two"),
        ("4.1", b"four-one"),
        ("4.1.MIME", b"Content-Type: IMAGE/GIF\r\n\r\n"),
        ("4.2.HEADER.FIELDS (subject)", b"Subject: deep\r\n\r\n"),
        ("4.2.1", b"four-two-one"),
        ("4.2.2.1", b"four-two-two-one"),
        ("4.2.2.2", b"four-two-two-two"),
        ("4.2.2.2.MIME", b"Content-Type: TEXT/RICHTEXT\r\n\r\n"),
        ("HEADER.FIELDS.NOT (Content-Type)", b"Subject: top\r\n\r\n"),
        ("5", None),
        ("4.1.HEADER", None),  # HEADER needs a message/rfc822 part
        ("1.1", None),
    ],
)
def test_sections_follow_the_rfc_9051_numbering(spec: str, expected: bytes | None) -> None:
    assert section_bytes(NESTED, spec) == expected


def test_part_one_of_a_single_part_message_is_its_body() -> None:
    raw = b"Subject: x\r\n\r\nbody\r\n"
    assert section_bytes(raw, "1") == b"body\r\n"
    assert section_bytes(raw, "1.MIME") == b"Subject: x\r\n\r\n"
    assert section_bytes(raw, "TEXT") == b"body\r\n"
    assert section_bytes(raw, "2") is None


def test_binary_decodes_base64_and_quoted_printable_and_flags_unknown_encodings() -> None:
    root = parse_message(NESTED)
    assert binary_bytes(NESTED, "2", root) == b"\x00\x01\x02"
    assert binary_size(NESTED, "2", root) == 3
    assert binary_bytes(NESTED, "", root) == NESTED
    qp = b"Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n"
    assert binary_bytes(qp, "1") == b"a=bc\r\n"
    odd = b"Content-Transfer-Encoding: x-gzip64\r\n\r\nxyz"
    assert binary_bytes(odd, "1") == UnknownCTE("x-gzip64")
    assert binary_size(odd, "1") == UnknownCTE("x-gzip64")
    assert binary_bytes(NESTED, "9") is None
    assert binary_bytes(NESTED, "1.MIME") is None


def test_non_ascii_parameters_are_sent_in_rfc_2231_form() -> None:
    raw = (
        b"Content-Type: text/plain; name*=utf-8''%C3%A9t%C3%A9.txt\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?=C3=A9t=C3=A9.txt?="\r\n\r\nx'
    )
    structure = body_structure(raw).as_tuple()
    assert isinstance(structure, tuple)
    assert structure[2] == ("NAME*", "utf-8''%C3%A9t%C3%A9.txt")
    assert structure[9] == ("ATTACHMENT", ("FILENAME*", "utf-8''%C3%A9t%C3%A9.txt"))
