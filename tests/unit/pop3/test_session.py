"""The POP3 state machine against scripted command-layer outcomes (RFC 1939 examples)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.pop3.helpers import drive, entries, opened, pump
from tidings.pop3 import session as s
from tidings.pop3.parser import NeedData
from tidings.pop3.responses import Reply, ResponseCode

PLAIN = s.SessionOptions(allow_plaintext=True)


def login(sizes: tuple[int, ...] = (120, 200)) -> s.POP3Session:
    session = s.POP3Session(PLAIN)
    out = drive_open(session, b"USER alice\r\nPASS pw\r\n", sizes)
    expected = f"+OK maildrop locked and ready, {len(sizes)} messages ({sum(sizes)} octets)\r\n"
    assert out.endswith(expected.encode())
    return session


def drive_open(session: s.POP3Session, data: bytes, sizes: tuple[int, ...] = (120, 200)) -> bytes:
    session.receive_data(data)
    return pump(session, opened(*sizes))


def lines(session: s.POP3Session, data: bytes, sizes: tuple[int, ...] = (120, 200)) -> list[bytes]:
    return drive_open(session, data, sizes).split(b"\r\n")[:-1]


def test_greeting_has_no_apop_timestamp() -> None:
    assert s.POP3Session().greeting().encode() == b"+OK Tidings POP3 server ready\r\n"


def test_rfc1939_transaction_commands() -> None:
    session = login()
    assert lines(session, b"STAT\r\n") == [b"+OK 2 320"]
    assert lines(session, b"LIST\r\n") == [b"+OK 2 messages (320 octets)", b"1 120", b"2 200", b"."]
    assert lines(session, b"LIST 2\r\n") == [b"+OK 2 200"]
    assert lines(session, b"LIST 3\r\n") == [b"-ERR no message 3"]
    assert lines(session, b"UIDL\r\n") == [
        b"+OK unique-id listing follows",
        b"1 17.1",
        b"2 17.2",
        b".",
    ]
    assert lines(session, b"UIDL 1\r\n") == [b"+OK 1 17.1"]
    assert lines(session, b"NOOP\r\n") == [b"+OK"]


def test_dele_hides_the_message_until_rset() -> None:
    session = login()
    assert lines(session, b"DELE 1\r\n") == [b"+OK message 1 deleted"]
    assert lines(session, b"DELE 1\r\n") == [b"-ERR message 1 already deleted"]
    assert lines(session, b"RETR 1\r\n") == [b"-ERR message 1 already deleted"]
    assert lines(session, b"STAT\r\n") == [b"+OK 1 200"]
    assert lines(session, b"LIST\r\n") == [b"+OK 1 messages (200 octets)", b"2 200", b"."]
    assert lines(session, b"RSET\r\n") == [b"+OK maildrop has 2 messages (320 octets)"]
    assert lines(session, b"STAT\r\n") == [b"+OK 2 320"]


def test_quit_in_transaction_asks_for_update_with_deleted_and_retrieved() -> None:
    session = login((20, 30, 40))
    session.receive_data(b"RETR 1\r\nRETR 2\r\nDELE 2\r\nDELE 3\r\nQUIT\r\n")
    requests = []
    while True:
        step = session.next_step()
        if isinstance(step, s.Update):
            requests.append(step)
            reply = session.complete(step, s.Updated(2))
            break
        if isinstance(step, s.Fetch):
            session.complete(step, s.Content(b"x" * step.entry.size))
    assert [e.uid for e in requests[0].deleted] == [2, 3]
    assert [e.uid for e in requests[0].retrieved] == [1]
    assert reply.encode() == b"+OK bye (2 messages deleted)\r\n"
    assert session.closed and session.state is s.State.UPDATE


def test_failed_update_says_so_and_closes() -> None:
    session = login()
    session.receive_data(b"DELE 1\r\nQUIT\r\n")
    assert session.next_step() is not None
    step = session.next_step()
    assert isinstance(step, s.Update)
    refused = s.Refused("some deleted messages not removed", ResponseCode.SYS_TEMP)
    reply = session.complete(step, refused)
    assert reply.encode() == b"-ERR [SYS/TEMP] some deleted messages not removed\r\n"
    assert session.closed


def test_peer_gone_closes_without_update() -> None:
    session = login()
    session.receive_data(b"DELE 1\r\n")
    assert isinstance(session.next_step(), Reply)
    session.receive_data(b"")
    assert isinstance(session.next_step(), NeedData)
    assert session.closed and session.state is s.State.TRANSACTION


def test_retr_sends_size_line_and_stuffed_body() -> None:
    session = login((9,))
    session.receive_data(b"RETR 1\r\n")
    step = session.next_step()
    assert isinstance(step, s.Fetch) and step.top_lines is None
    reply = session.complete(step, s.Content(b"a\n.b\n"))
    assert reply.encode() == b"+OK 9 octets\r\na\r\n..b\r\n.\r\n"


def test_top_truncates_the_body() -> None:
    session = login((40,))
    session.receive_data(b"TOP 1 1\r\n")
    step = session.next_step()
    assert isinstance(step, s.Fetch) and step.top_lines == 1
    reply = session.complete(step, s.Content(b"Subject: x\r\n\r\none\r\ntwo\r\n"))
    assert reply.encode() == b"+OK top of message follows\r\nSubject: x\r\n\r\none\r\n.\r\n"


def test_user_pass_refused_before_tls_when_not_allowed() -> None:
    session = s.POP3Session(s.SessionOptions(allow_plaintext=False))
    out = drive_open(session, b"USER alice\r\nPASS pw\r\n")
    assert out == b"-ERR plaintext login needs TLS first: use STLS\r\n-ERR send USER first\r\n"


def test_capa_before_tls_hides_user_and_plain_and_offers_stls() -> None:
    session = s.POP3Session(s.SessionOptions(allow_plaintext=False))
    caps = lines(session, b"CAPA\r\n")
    assert caps[0] == b"+OK capability list follows"
    assert b"USER" not in caps and b"STLS" in caps
    assert b"SASL SCRAM-SHA-256" in caps
    assert caps[-1] == b"."


def test_stls_discards_pipelined_commands_and_enables_plaintext() -> None:
    session = s.POP3Session(s.SessionOptions(allow_plaintext=False))
    session.receive_data(b"STLS\r\nUSER evil\r\n")
    step = session.next_step()
    assert isinstance(step, s.StartTLS)
    assert step.reply.encode() == b"+OK begin TLS negotiation\r\n"
    assert isinstance(session.next_step(), NeedData)
    session.tls_started()
    caps = lines(session, b"CAPA\r\n")
    assert b"USER" in caps and b"STLS" not in caps
    assert b"SASL PLAIN SCRAM-SHA-256" in caps
    assert lines(session, b"STLS\r\n") == [b"-ERR TLS is already active"]


def test_capa_lists_every_extension_before_login() -> None:
    caps = lines(s.POP3Session(PLAIN), b"CAPA\r\n")
    for cap in (
        b"TOP",
        b"UIDL",
        b"USER",
        b"SASL PLAIN SCRAM-SHA-256",
        b"RESP-CODES",
        b"AUTH-RESP-CODE",
        b"PIPELINING",
        b"STLS",
        b"EXPIRE NEVER",
        b"IMPLEMENTATION Tidings",
    ):
        assert cap in caps


def test_apop_is_refused_and_the_session_goes_on() -> None:
    session = s.POP3Session(PLAIN)
    assert lines(session, b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nNOOP\r\n") == [
        b"-ERR APOP is not offered; use USER/PASS or AUTH",
        b"-ERR command not valid before login",
    ]


def test_auth_with_initial_response_and_empty_equals() -> None:
    session = s.POP3Session(PLAIN)
    session.receive_data(b"AUTH PLAIN AGFsaWNlAHB3\r\n")
    assert session.next_step() == s.SASLStart("PLAIN", b"\x00alice\x00pw")
    session = s.POP3Session(PLAIN)
    session.receive_data(b"AUTH PLAIN =\r\n")
    assert session.next_step() == s.SASLStart("PLAIN", b"")


def test_auth_challenge_response_and_cancel() -> None:
    session = s.POP3Session(PLAIN)
    session.receive_data(b"AUTH SCRAM-SHA-256\r\n")
    step = session.next_step()
    assert step == s.SASLStart("SCRAM-SHA-256", None)
    assert session.complete(step, s.Challenge(b"")).encode() == b"+ \r\n"
    session.receive_data(b"biwsbj1h\r\n")
    step = session.next_step()
    assert step == s.SASLResponse(b"n,,n=a")
    assert session.complete(step, s.Challenge(b"r=x")).encode() == b"+ cj14\r\n"
    session.receive_data(b"*\r\n")
    step = session.next_step()
    assert step == s.SASLCancel("authentication cancelled")
    assert session.complete(step, s.Refused("authentication cancelled")).encode() == (
        b"-ERR authentication cancelled\r\n"
    )
    assert lines(session, b"NOOP\r\n") == [b"-ERR command not valid before login"]


def test_auth_unknown_or_plain_without_tls_is_refused() -> None:
    session = s.POP3Session(s.SessionOptions(allow_plaintext=False))
    assert lines(session, b"AUTH CRAM-MD5\r\nAUTH PLAIN =\r\n") == [
        b"-ERR unsupported SASL mechanism",
        b"-ERR PLAIN needs TLS first: use STLS",
    ]


def test_auth_without_mechanism_lists_them() -> None:
    assert lines(s.POP3Session(PLAIN), b"AUTH\r\n") == [
        b"+OK SASL mechanisms follow",
        b"PLAIN",
        b"SCRAM-SHA-256",
        b".",
    ]


def test_in_use_refusal_keeps_authorization_state() -> None:
    session = s.POP3Session(PLAIN)
    session.receive_data(b"USER alice\r\nPASS pw\r\n")
    assert isinstance(session.next_step(), Reply)
    step = session.next_step()
    assert isinstance(step, s.Login)
    reply = session.complete(step, s.Refused("maildrop is in use", ResponseCode.IN_USE))
    assert reply.encode() == b"-ERR [IN-USE] maildrop is in use\r\n"
    assert session.state is s.State.AUTHORIZATION and not session.closed


def test_three_failed_logins_close_the_session() -> None:
    session = s.POP3Session(PLAIN)
    out = drive(
        session,
        b"USER a\r\nPASS b\r\n" * 3 + b"NOOP\r\n",
        lambda r: s.Refused("authentication failed", ResponseCode.AUTH),
    )
    assert out.count(b"-ERR [AUTH] authentication failed\r\n") == 3
    assert session.closed
    assert b"NOOP" not in out and out.count(b"\r\n") == 6


def test_too_many_bad_commands_close_the_session() -> None:
    session = s.POP3Session(PLAIN)
    out = drive(session, b"BOGUS\r\n" * 20, opened())
    assert out.count(b"-ERR") == 10
    assert out.endswith(b"too many bad commands, closing\r\n")
    assert session.closed


def test_overlong_line_gets_err_and_the_session_goes_on() -> None:
    session = s.POP3Session(PLAIN)
    assert lines(session, b"USER " + b"x" * 400 + b"\r\nQUIT\r\n") == [
        b"-ERR line too long (limit 255 octets)",
        b"+OK bye",
    ]
    assert session.closed


def test_quit_before_login_closes_without_update() -> None:
    session = s.POP3Session(PLAIN)
    assert lines(session, b"QUIT\r\nNOOP\r\n") == [b"+OK bye"]
    assert session.closed and session.state is s.State.AUTHORIZATION


def test_transaction_refuses_authorization_commands() -> None:
    session = login()
    assert lines(session, b"USER bob\r\nSTLS\r\n") == [
        b"-ERR command not valid after login",
        b"-ERR command not valid after login",
    ]


def test_entries_helper_numbers_from_one() -> None:
    assert [e.uid for e in entries(1, 2)] == [1, 2]


_CHUNK_SCRIPT = (
    b"CAPA\r\nUSER alice\r\nPASS pw\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 1\r\n"
    b"TOP 2 0\r\nDELE 1\r\nBOGUS\r\nRSET\r\nDELE 2\r\nQUIT\r\n"
)


@given(st.lists(st.integers(0, len(_CHUNK_SCRIPT)), max_size=10))
def test_chunking_never_changes_the_replies(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [
        _CHUNK_SCRIPT[a:b] for a, b in zip([0, *points], [*points, len(_CHUNK_SCRIPT)], strict=True)
    ]
    whole = drive(s.POP3Session(PLAIN), _CHUNK_SCRIPT, opened(120, 200))
    assert drive(s.POP3Session(PLAIN), chunks, opened(120, 200)) == whole
    assert whole.endswith(b"+OK bye (1 messages deleted)\r\n")


_TOKENS = st.sampled_from(
    [
        b"USER a\r\n",
        b"PASS b\r\n",
        b"AUTH PLAIN\r\n",
        b"AUTH SCRAM-SHA-256 =\r\n",
        b"*\r\n",
        b"STAT\r\n",
        b"LIST 1\r\n",
        b"RETR 2\r\n",
        b"TOP 1 3\r\n",
        b"DELE 1\r\n",
        b"RSET\r\n",
        b"UIDL\r\n",
        b"STLS\r\n",
        b"CAPA\r\n",
        b"QUIT\r\n",
        b"\r\n",
        b"\n",
        b"x" * 300,
    ]
)


@settings(max_examples=200)
@given(st.lists(st.one_of(_TOKENS, st.binary(max_size=64)), max_size=30))
def test_any_bytes_give_replies_never_exceptions(parts: list[bytes]) -> None:
    session = s.POP3Session(PLAIN)
    out = drive(session, parts, opened(10, 20, 30))
    assert out.startswith((b"+OK", b"-ERR", b"+ ")) or not out
    assert out.endswith(b"\r\n") or not out
    assert session.closed
