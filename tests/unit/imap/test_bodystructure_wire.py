"""BODYSTRUCTURE on the wire follows RFC 9051's grammar for multiparts."""

from __future__ import annotations

from tidings.imap.commands.fetch import body_value
from tidings.imap.wire import encode_value
from tidings.mime import imap_views
from tidings.mime.structure import parse_message

ALTERNATIVE = (
    b"From: a@example.test\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    b"--b\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n--b--\r\n"
)

FORWARDED = (
    b"From: a@example.test\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n'
    b"--o\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
    b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + ALTERNATIVE + b"\r\n--o--\r\n"
)


def test_multipart_parts_are_written_without_a_space_between_them() -> None:
    wire = encode_value(body_value(imap_views.body_structure(parse_message(ALTERNATIVE))))
    assert wire.startswith(b'(("TEXT" "PLAIN"') or wire.startswith(b'(("text" "plain"')
    assert b')("' in wire  # second part follows the first directly
    assert b') ("' not in wire
    assert b'"ALTERNATIVE"' in wire.upper()


def test_multipart_inside_a_forwarded_message_keeps_the_grammar() -> None:
    wire = encode_value(body_value(imap_views.body_structure(parse_message(FORWARDED))))
    assert wire.count(b')("') >= 2  # outer mixed and inner alternative
    assert b') ("' not in wire
    assert b'"MESSAGE" "RFC822"' in wire.upper()


def test_non_extensible_body_uses_the_same_multipart_form() -> None:
    wire = encode_value(body_value(imap_views.body(parse_message(ALTERNATIVE))))
    assert b')("' in wire and b') ("' not in wire
