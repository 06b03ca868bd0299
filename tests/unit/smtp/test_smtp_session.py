"""The pure SMTP session against an in-memory command layer."""

from __future__ import annotations

import base64

import pytest

from tests.unit.smtp.driver import make_driver
from tidings.smtp.data import BareLineEndings
from tidings.smtp.events import CheckSender, ListenerKind
from tidings.smtp.responses import Reply

TRANSACTION = (
    b"EHLO client.example\r\n"
    b"MAIL FROM:<sender@remote.example>\r\n"
    b"RCPT TO:<bob@example.test>\r\n"
    b"DATA\r\n"
)


def codes(replies: list[Reply]) -> list[int]:
    return [reply.code for reply in replies]


def ehlo_keywords(reply: Reply) -> set[str]:
    return {line.split(" ")[0] for line in reply.lines[1:]}


def test_greeting_names_the_host() -> None:
    driver = make_driver()
    assert driver.replies[0].encode() == b"220 mx.example.test ESMTP Tidings ready\r\n"


def test_ehlo_on_mx_offers_extensions_but_no_auth() -> None:
    driver = make_driver()
    (reply,) = driver.feed(b"EHLO client.example\r\n")
    assert reply.code == 250 and reply.enhanced is None
    assert ehlo_keywords(reply) == {
        "PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING",
        "BINARYMIME", "DSN", "STARTTLS", "HELP",
    }
    assert reply.encode().startswith(b"250-mx.example.test Hello client.example\r\n250-")


def test_pipelined_transaction_in_one_packet() -> None:
    driver = make_driver()
    replies = driver.feed(
        b"EHLO client.example\r\nMAIL FROM:<s@remote.example> BODY=8BITMIME\r\n"
        b"RCPT TO:<bob@example.test> NOTIFY=FAILURE\r\nRCPT TO:<unknown@example.test>\r\n"
        b"DATA\r\nSubject: hi\r\n\r\n\xc3\xa9t\xc3\xa9\r\n..dot\r\n.\r\nQUIT\r\n"
    )
    assert codes(replies) == [250, 250, 250, 550, 354, 250, 221]
    assert replies[5].text == "Queued as 1"
    (message,) = driver.commands.delivered
    assert message.content == b"Subject: hi\r\n\r\n\xc3\xa9t\xc3\xa9\r\n.dot\r\n"
    assert [str(rc.address) for rc in message.envelope.recipients] == ["bob@example.test"]
    assert message.envelope.recipients[0].resolved == "bob@example.test"
    assert message.trace.protocol == "ESMTP" and message.trace.ehlo_name == "client.example"
    assert driver.session.closed


def test_sequence_errors_are_503_and_the_session_goes_on() -> None:
    driver = make_driver()
    assert codes(driver.feed(b"MAIL FROM:<a@b.example>\r\n")) == [503]
    assert codes(driver.feed(b"HELO c.example\r\nRCPT TO:<x@example.test>\r\n")) == [250, 503]
    assert codes(driver.feed(b"DATA\r\n")) == [503]
    assert codes(driver.feed(b"MAIL FROM:<a@b.example>\r\nDATA\r\n")) == [250, 554]
    assert codes(driver.feed(b"MAIL FROM:<a@b.example>\r\n")) == [503]
    assert codes(driver.feed(b"RSET\r\nMAIL FROM:<a@b.example>\r\n")) == [250, 250]
    assert not driver.session.closed


def test_transaction_is_reset_after_the_message() -> None:
    driver = make_driver()
    driver.feed(TRANSACTION + b"body\r\n.\r\n")
    assert driver.session.envelope is None
    assert codes(driver.feed(b"RCPT TO:<bob@example.test>\r\n")) == [503]


def test_size_parameter_over_the_limit_is_refused_at_mail() -> None:
    driver = make_driver(max_message_bytes=100)
    (_, reply) = driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example> SIZE=101\r\n")
    assert (reply.code, reply.enhanced) == (552, "5.3.4")


def test_oversized_data_gets_552_and_the_session_goes_on() -> None:
    driver = make_driver(max_message_bytes=10)
    replies = driver.feed(TRANSACTION + b"x" * 30 + b"\r\n.\r\nNOOP\r\n")
    assert codes(replies) == [250, 250, 250, 354, 552, 250]
    assert replies[4].enhanced == "5.3.4"
    assert driver.commands.delivered == []


def test_recipient_limit_replies_452() -> None:
    driver = make_driver(max_recipients=2)
    replies = driver.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.example>\r\n"
        + b"".join(b"RCPT TO:<u%d@example.test>\r\n" % i for i in range(3))
    )
    assert codes(replies) == [250, 250, 250, 250, 452]
    assert replies[-1].enhanced == "4.5.3"


def test_quota_refusal_452_is_passed_on() -> None:
    driver = make_driver()
    replies = driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<full@example.test>\r\n")
    assert (replies[-1].code, replies[-1].enhanced) == (452, "4.2.2")


def test_too_many_bad_commands_end_with_421() -> None:
    driver = make_driver(max_bad_commands=3)
    replies = driver.feed(b"BOGUS\r\n" * 5)
    assert codes(replies) == [500, 500, 500, 421]
    assert driver.session.closed


def test_too_many_noops_end_with_421() -> None:
    driver = make_driver(max_junk_commands=2)
    assert codes(driver.feed(b"NOOP\r\n" * 3)) == [250, 250, 421]


def test_bare_lf_in_command_is_refused_and_the_session_goes_on() -> None:
    driver = make_driver()
    replies = driver.feed(b"NOOP\nNOOP\r\n")
    assert codes(replies) == [500, 250]
    assert "CRLF" in replies[0].text


def test_overlong_line_is_refused_and_the_session_goes_on() -> None:
    driver = make_driver()
    replies = driver.feed(b"NOOP " + b"x" * 20000 + b"\r\nNOOP\r\n")
    assert codes(replies) == [500, 250]
    assert replies[0].enhanced == "5.5.2"


def test_http_request_hangs_up() -> None:
    driver = make_driver()
    assert codes(driver.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")) == [421]
    assert driver.session.closed


def test_peer_closing_closes_the_session() -> None:
    driver = make_driver()
    driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.test>\r\nDATA\r\npart")
    driver.close()
    assert driver.session.closed and driver.commands.delivered == []


def test_vrfy_help_and_expn() -> None:
    driver = make_driver()
    assert codes(driver.feed(b"VRFY bob\r\nHELP\r\nEXPN staff\r\n")) == [252, 214, 502]


def test_parameters_after_helo_are_refused() -> None:
    driver = make_driver()
    assert codes(driver.feed(b"HELO c\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\n")) == [250, 555]


def test_utf8_address_needs_smtputf8() -> None:
    driver = make_driver()
    replies = driver.feed(
        "EHLO c\r\nMAIL FROM:<jürgen@b.example>\r\n"
        "MAIL FROM:<jürgen@b.example> SMTPUTF8\r\nRCPT TO:<zoë@example.test>\r\n".encode()
    )
    assert codes(replies) == [250, 553, 250, 250]
    assert replies[1].enhanced == "5.6.7"


def test_utf8_recipient_without_smtputf8_is_refused() -> None:
    driver = make_driver()
    replies = driver.feed("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<zoë@x.test>\r\n".encode())
    assert codes(replies)[-1] == 553


# --- SMTP smuggling ---------------------------------------------------------------

SMUGGLED = b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nforged\r\n"


@pytest.mark.parametrize(
    "fake_end", [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\n", b"\r\n.\n", b"\r\n.\r"],
    ids=["lf-dot-lf", "lf-dot-crlf", "cr-dot-cr", "cr-dot-lf", "crlf-dot-lf", "crlf-dot-cr"],
)
def test_smuggled_second_message_is_refused_with_the_first(fake_end: bytes) -> None:
    driver = make_driver()
    replies = driver.feed(TRANSACTION + b"Subject: one\r\n\r\nhi" + fake_end + SMUGGLED
                          + b".\r\nQUIT\r\n")
    assert codes(replies) == [250, 250, 250, 354, 550, 221]
    assert driver.commands.delivered == []
    assert sum(isinstance(q, CheckSender) for q in driver.commands.requests) == 1


@pytest.mark.parametrize(
    "fake_end", [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\n", b"\r\n.\n", b"\r\n.\r"],
    ids=["lf-dot-lf", "lf-dot-crlf", "cr-dot-cr", "cr-dot-lf", "crlf-dot-lf", "crlf-dot-cr"],
)
def test_smuggled_second_message_stays_inside_the_first_when_normalising(
    fake_end: bytes,
) -> None:
    driver = make_driver(bare_line_endings=BareLineEndings.NORMALIZE)
    replies = driver.feed(TRANSACTION + b"Subject: one\r\n\r\nhi" + fake_end + SMUGGLED
                          + b".\r\nQUIT\r\n")
    assert codes(replies) == [250, 250, 250, 354, 250, 221]
    (message,) = driver.commands.delivered
    assert b"forged" in message.content
    assert sum(isinstance(q, CheckSender) for q in driver.commands.requests) == 1


# --- BDAT -----------------------------------------------------------------------------


def test_bdat_chunks_are_joined_byte_exact() -> None:
    driver = make_driver()
    body = b"Subject: b\r\n\r\n\x00\xff\r\n.\r\n"
    replies = driver.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<bob@example.test>\r\n"
        + b"BDAT 10\r\n" + body[:10] + b"BDAT %d LAST\r\n" % (len(body) - 10) + body[10:]
        + b"NOOP\r\n"
    )
    assert codes(replies) == [250, 250, 250, 250, 250, 250]
    assert replies[3].text == "10 octets received"
    assert driver.commands.delivered[0].content == body


def test_bdat_without_transaction_consumes_the_chunk_then_refuses() -> None:
    driver = make_driver()
    replies = driver.feed(b"EHLO c\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n")
    assert codes(replies) == [250, 503, 250]


def test_bdat_without_recipients_is_554() -> None:
    driver = make_driver()
    replies = driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nBDAT 3 LAST\r\nabc")
    assert codes(replies)[-1] == 554


def test_bdat_over_the_size_limit_is_552_and_resets() -> None:
    driver = make_driver(max_message_bytes=8)
    replies = driver.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.test>\r\n"
        b"BDAT 5\r\n12345BDAT 5 LAST\r\n67890NOOP\r\n"
    )
    assert codes(replies) == [250, 250, 250, 250, 552, 250]
    assert driver.session.envelope is None


def test_binarymime_with_data_is_refused() -> None:
    driver = make_driver()
    replies = driver.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<bob@example.test>\r\n"
        b"DATA\r\n"
    )
    assert codes(replies)[-1] == 503


def test_bdat_zero_last_finishes_the_message() -> None:
    driver = make_driver()
    driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.test>\r\n"
                b"BDAT 2\r\nhiBDAT 0 LAST\r\n")
    assert driver.commands.delivered[0].content == b"hi"


# --- STARTTLS and AUTH -----------------------------------------------------------------


def test_starttls_discards_pipelined_commands_and_forgets_ehlo() -> None:
    driver = make_driver()
    replies = driver.feed(b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\n")
    assert codes(replies) == [250, 220]
    assert driver.tls_upgrades == 1 and driver.session.connection.tls
    assert codes(driver.feed(b"MAIL FROM:<a@b.example>\r\n")) == [503]
    (reply,) = driver.feed(b"EHLO c\r\n")
    assert "STARTTLS" not in ehlo_keywords(reply)
    assert codes(driver.feed(b"STARTTLS\r\n")) == [503]


def test_starttls_inside_a_transaction_is_refused() -> None:
    driver = make_driver()
    assert codes(driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nSTARTTLS\r\n"))[-1] == 503


def test_submission_refuses_auth_and_mail_before_tls() -> None:
    driver = make_driver(kind=ListenerKind.SUBMISSION)
    replies = driver.feed(
        b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.example>\r\n"
    )
    assert "AUTH" not in ehlo_keywords(replies[0])
    assert (replies[1].code, replies[1].enhanced) == (538, "5.7.11")
    assert (replies[2].code, replies[2].enhanced) == (530, "5.7.0")


def test_submission_after_tls_offers_auth_and_plain_succeeds() -> None:
    driver = make_driver(kind=ListenerKind.SUBMISSION)
    driver.feed(b"EHLO c\r\nSTARTTLS\r\n")
    (ehlo,) = driver.feed(b"EHLO c\r\n")
    assert "AUTH SCRAM-SHA-256 PLAIN LOGIN" in ehlo.lines
    replies = driver.feed(
        b"MAIL FROM:<alice@example.test>\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
        b"MAIL FROM:<alice@example.test>\r\nAUTH PLAIN =\r\n"
    )
    assert codes(replies) == [530, 235, 250, 503]
    assert driver.session.connection.protocol == "ESMTPSA"


def test_auth_challenge_cancel_and_failure() -> None:
    driver = make_driver(kind=ListenerKind.SUBMISSION, tls=True)
    replies = driver.feed(b"EHLO c\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN\r\n%s\r\n"
                          % base64.b64encode(b"\x00alice\x00wrong"))
    assert codes(replies) == [250, 334, 501, 334, 535]
    assert replies[1].encode() == b"334 \r\n"
    assert driver.session.connection.principal is None


def test_auth_login_two_step() -> None:
    driver = make_driver(kind=ListenerKind.SUBMISSION, tls=True)
    replies = driver.feed(b"EHLO c\r\nAUTH LOGIN YWxpY2U=\r\n%s\r\n" % base64.b64encode(b"secret"))
    assert codes(replies) == [250, 334, 235]
    assert replies[1].encode() == b"334 UGFzc3dvcmQ6\r\n"


def test_auth_bad_base64_and_unknown_mechanism() -> None:
    driver = make_driver(kind=ListenerKind.SUBMISSION, tls=True)
    replies = driver.feed(b"EHLO c\r\nAUTH PLAIN !!!\r\nAUTH CRAM-MD5\r\nAUTH PLAIN\r\n***\r\n")
    assert codes(replies) == [250, 501, 504, 334, 501]


def test_loopback_plaintext_auth_when_allowed() -> None:
    driver = make_driver(
        kind=ListenerKind.SUBMISSION, loopback=True, allow_plaintext_auth_on_loopback=True
    )
    replies = driver.feed(b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
    assert codes(replies) == [250, 235]


def test_auth_is_not_offered_on_mx() -> None:
    driver = make_driver(tls=True)
    assert codes(driver.feed(b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")) == [250, 503]


def test_replies_carry_enhanced_codes_and_sentences() -> None:
    driver = make_driver()
    driver.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<unknown@example.test>\r\n")
    assert driver.replies[-1].encode() == b"550 5.1.1 No such user here\r\n"
    assert driver.replies[-2].encode() == b"250 2.1.0 Sender <a@b.example> OK\r\n"


def test_complete_must_match_the_pending_request() -> None:
    driver = make_driver()
    driver.session.receive_data(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\n")
    assert isinstance(driver.session.next_step(), Reply)
    request = driver.session.next_step()
    assert isinstance(request, CheckSender)
    with pytest.raises(RuntimeError):
        driver.session.next_step()
