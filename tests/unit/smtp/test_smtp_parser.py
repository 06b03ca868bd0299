"""Command lines, paths and ESMTP parameters (RFC 5321 §4.1, RFC 1870/3461/6531)."""

from __future__ import annotations

import pytest

from tidings.smtp.address import Address, AddressError, parse_mailbox, split_path
from tidings.smtp.params import (
    BodyType,
    Notify,
    ParamError,
    Ret,
    decode_xtext,
    parse_mail_params,
    parse_rcpt_params,
)
from tidings.smtp.parser import (
    NEED_DATA,
    Auth,
    Bdat,
    Data,
    Helo,
    LineProblem,
    LineReader,
    Mail,
    Malformed,
    Noop,
    Quit,
    Rcpt,
    parse_command,
)


def test_line_reader_returns_crlf_lines_and_waits_for_the_rest() -> None:
    reader = LineReader()
    buffer = bytearray(b"NOOP\r\nQUI")
    assert reader.read(buffer) == b"NOOP"
    assert reader.read(buffer) is NEED_DATA
    buffer += b"T\r\n"
    assert reader.read(buffer) == b"QUIT"


@pytest.mark.parametrize("line", [b"NOOP\n", b"NO\rOP\r\n", b"NOOP\r\r\n", b"NO\nOP\r\n"])
def test_line_reader_refuses_bare_cr_or_lf(line: bytes) -> None:
    reader = LineReader()
    buffer = bytearray(line)
    first = reader.read(buffer)
    assert first is LineProblem.BARE_LINE_ENDING


def test_line_reader_reports_a_long_line_once_and_resynchronises() -> None:
    reader = LineReader(max_line_bytes=16)
    buffer = bytearray(b"X" * 40)
    assert reader.read(buffer) is LineProblem.TOO_LONG
    assert reader.read(buffer) is NEED_DATA
    buffer += b"still more\r\nNOOP\r\n"
    assert reader.read(buffer) == b"NOOP"


def test_line_of_exactly_the_limit_is_accepted() -> None:
    reader = LineReader(max_line_bytes=8)
    assert reader.read(bytearray(b"NOOP12\r\n")) == b"NOOP12"
    assert LineReader(max_line_bytes=8).read(bytearray(b"NOOP123\r\n")) is LineProblem.TOO_LONG


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"EHLO client.example", Helo("client.example", True)),
        (b"helo [192.0.2.1]", Helo("[192.0.2.1]", False)),
        (b"DATA", Data()),
        (b"NOOP anything at all", Noop()),
        (b"quit", Quit()),
        (b"BDAT 1000", Bdat(1000, False)),
        (b"BDAT 0 LAST", Bdat(0, True)),
        (b"AUTH plain", Auth("PLAIN", None)),
        (b"AUTH PLAIN =", Auth("PLAIN", "")),
        (b"AUTH PLAIN AGFsaWNlAHNlY3JldA==", Auth("PLAIN", "AGFsaWNlAHNlY3JldA==")),
    ],
)
def test_simple_commands_parse(line: bytes, expected: object) -> None:
    assert parse_command(line) == expected


def test_mail_from_with_every_parameter() -> None:
    command = parse_command(
        b"MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS "
        b"ENVID=QQ+2B1 AUTH=<>"
    )
    assert isinstance(command, Mail)
    assert command.sender == Address("a", "example.org")
    params = command.params
    assert (params.size, params.body, params.smtputf8, params.ret) == (
        1000, BodyType.EIGHT_BIT_MIME, True, Ret.HDRS,
    )
    assert params.envid == "QQ+1"
    assert params.auth == "<>"


def test_null_reverse_path_and_tolerated_space_after_colon() -> None:
    assert parse_command(b"MAIL FROM:<>") == Mail(None, parse_mail_params(""))
    command = parse_command(b"MAIL FROM: <b@example.org>")
    assert isinstance(command, Mail) and command.sender == Address("b", "example.org")


def test_rcpt_with_dsn_parameters() -> None:
    command = parse_command(
        b"RCPT TO:<x@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+40example.org"
    )
    assert isinstance(command, Rcpt)
    assert command.params.notify == frozenset({Notify.SUCCESS, Notify.FAILURE})
    assert command.params.orcpt == "rfc822;x@example.org"
    assert command.params.notify_text == "SUCCESS,FAILURE"


def test_rcpt_to_bare_postmaster_is_accepted() -> None:
    command = parse_command(b"RCPT TO:<Postmaster>")
    assert isinstance(command, Rcpt) and command.recipient.is_postmaster


def test_source_route_is_ignored() -> None:
    command = parse_command(b"RCPT TO:<@relay.example,@b.example:user@example.org>")
    assert isinstance(command, Rcpt) and command.recipient == Address("user", "example.org")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"FOO bar", 500),
        (b"", 500),
        (b"EHLO", 501),
        (b"MAIL TO:<a@b.c>", 501),
        (b"MAIL FROM:a@b.c", 501),
        (b"MAIL FROM:<a@b.c", 501),
        (b"MAIL FROM:<a@b.c>SIZE=1", 501),
        (b"MAIL FROM:<a@b.c> SIZE=big", 501),
        (b"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 501),
        (b"MAIL FROM:<a@b.c> BODY=9BIT", 501),
        (b"MAIL FROM:<a@b.c> FOO=bar", 555),
        (b"MAIL FROM:<a..b@c.d>", 553),
        (b"MAIL FROM:<a@-bad-.d>", 553),
        (b"RCPT TO:<>", 553),
        (b"RCPT TO:<x@y.z> NOTIFY=NEVER,SUCCESS", 501),
        (b"RCPT TO:<x@y.z> NOTIFY=SOMETIMES", 501),
        (b"RCPT TO:<x@y.z> ORCPT=rfc822", 501),
        (b"RCPT TO:<x@y.z> ORCPT=rfc822;a+zz", 501),
        (b"RCPT TO:<x@y.z> BODY=7BIT", 555),
        (b"DATA now", 501),
        (b"BDAT", 501),
        (b"BDAT -1", 501),
        (b"BDAT 10 FIRST", 501),
        (b"AUTH", 501),
        (b"AUTH PLAIN a b", 501),
        (b"VRFY", 501),
        (b"NOOP\x00", 500),
        (b"NOOP \xff\xfe", 500),
    ],
)
def test_malformed_commands_get_their_reply_code(line: bytes, code: int) -> None:
    result = parse_command(line)
    assert isinstance(result, Malformed)
    assert result.reply.code == code
    assert not result.close


def test_http_request_on_smtp_port_hangs_up() -> None:
    result = parse_command(b"POST / HTTP/1.1")
    assert isinstance(result, Malformed) and result.close and result.reply.code == 421


def test_overlong_mail_command_is_refused_but_auth_may_be_long() -> None:
    long_mail = b"MAIL FROM:<a@b.c> ENVID=" + b"x" * 3000
    result = parse_command(long_mail)
    assert isinstance(result, Malformed) and result.reply.code == 500
    assert isinstance(parse_command(b"AUTH PLAIN " + b"A" * 8000), Auth)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("user@example.org", Address("user", "example.org")),
        ('"john doe"@example.org', Address('"john doe"', "example.org")),
        ('"a\\"b"@example.org', Address('"a\\"b"', "example.org")),
        ("user@[192.0.2.1]", Address("user", "[192.0.2.1]")),
        ("user@[IPv6:2001:db8::1]", Address("user", "[IPv6:2001:db8::1]")),
        ("jürgen@bücher.example", Address("jürgen", "bücher.example")),
        ("a.b+tag@sub.example.org", Address("a.b+tag", "sub.example.org")),
    ],
)
def test_valid_mailboxes(path: str, expected: Address) -> None:
    assert parse_mailbox(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "noatsign", "@example.org", "user@", ".user@example.org", "user.@example.org",
        "us er@example.org", "user@exa mple.org", "user@[300.1.1.1]", "user@[IPv6:zz]",
        "x" * 65 + "@example.org", "user@" + "a" * 250 + ".org", '"unclosed@example.org',
        "user@example..org",
    ],
)
def test_invalid_mailboxes(path: str) -> None:
    with pytest.raises(AddressError):
        parse_mailbox(path)


def test_split_path_honours_quotes() -> None:
    assert split_path('<"a>b"@c.d> SIZE=1') == ('"a>b"@c.d', " SIZE=1")


def test_utf8_address_is_not_ascii() -> None:
    assert not parse_mailbox("jürgen@example.org").is_ascii
    assert parse_mailbox("j@example.org").is_ascii


def test_xtext_decoding() -> None:
    assert decode_xtext("a+2Bb+3Dc") == "a+b=c"
    with pytest.raises(ParamError):
        decode_xtext("a+2b")
    with pytest.raises(ParamError):
        decode_xtext("a=b")


def test_rcpt_params_default_to_none() -> None:
    params = parse_rcpt_params("")
    assert params.notify is None and params.orcpt is None and params.notify_text is None
