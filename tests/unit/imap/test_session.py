"""The pure session: state checks, local answers, ENABLE, and the selected view's
rules for when expunges and new messages are announced (RFC 9051 §5.5, §7.5.1)."""

from __future__ import annotations

from datetime import UTC, datetime

from tidings.imap import commands_model as m
from tidings.imap.parser import NEED_DATA
from tidings.imap.responses import Response
from tidings.imap.sequence import SequenceSet
from tidings.imap.session import IMAPSession, Reply, Settings, State
from tidings.imap.view import BadSequence, MailboxView
from tidings.model.directory import Principal, PrincipalKind
from tidings.model.ids import (
    UID,
    AccountId,
    BlobId,
    DomainId,
    EmailId,
    MailboxId,
    ModSeq,
    PrincipalId,
)
from tidings.model.mail import Mailbox, Message

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ALICE = Principal(PrincipalId(1), PrincipalKind.USER, "alice@example.test", DomainId(1))


def msg(uid: int, flags: frozenset[str] = frozenset(), modseq: int = 1) -> Message:
    return Message(MailboxId(1), UID(uid), EmailId(uid), ModSeq(modseq), flags, 10, NOW, NOW,
                   BlobId("b"), 1)


def mailbox() -> Mailbox:
    return Mailbox(MailboxId(1), AccountId(1), "INBOX", None, None, 7, UID(10), ModSeq(5))


def replies(session: IMAPSession, data: bytes) -> list[bytes | m.Command]:
    session.receive_data(data)
    out: list[bytes | m.Command] = []
    while (step := session.next_step()) is not NEED_DATA:
        out.append(step.data if isinstance(step, Reply) else step)  # type: ignore[union-attr]
    return out


def encoded(responses: list[Response]) -> bytes:
    return b"".join(r.encode() for r in responses)


def test_greeting_and_capability_before_tls_disable_login() -> None:
    session = IMAPSession(Settings())
    assert b"LOGINDISABLED" in session.greeting() and b"STARTTLS" in session.greeting()
    [reply] = replies(session, b"a CAPABILITY\r\n")
    assert isinstance(reply, bytes) and reply.endswith(b"a OK CAPABILITY completed\r\n")
    [refused] = replies(session, b"b LOGIN joe secret\r\n")
    assert refused == b"b NO [PRIVACYREQUIRED] Use STARTTLS before LOGIN\r\n"


def test_login_is_handed_to_the_command_layer_over_tls() -> None:
    session = IMAPSession(Settings(), tls=True)
    assert b"STARTTLS" not in session.greeting()
    [command] = replies(session, b"a LOGIN joe secret\r\n")
    assert command == m.Login("a", "joe", "secret")


def test_commands_in_the_wrong_state_get_bad() -> None:
    session = IMAPSession(Settings(), tls=True)
    [reply] = replies(session, b"a FETCH 1 FLAGS\r\n")
    assert isinstance(reply, bytes) and reply.startswith(b"a BAD FETCH is not valid")
    session.login(ALICE)
    [reply] = replies(session, b"b FETCH 1 FLAGS\r\n")
    assert isinstance(reply, bytes) and b"authenticated state" in reply
    [reply] = replies(session, b"c LOGIN a b\r\n")
    assert isinstance(reply, bytes) and reply.startswith(b"c BAD")


def test_enable_qresync_implies_condstore_and_reports_only_new() -> None:
    session = IMAPSession(Settings(), tls=True)
    session.login(ALICE)
    [reply] = replies(session, b"a ENABLE QRESYNC IMAP4rev2 X-UNKNOWN\r\n")
    assert reply == b"* ENABLED QRESYNC IMAP4rev2\r\na OK ENABLE completed\r\n"
    assert {"QRESYNC", "CONDSTORE", "IMAP4REV2"} <= session.enabled and session.rev2
    [reply] = replies(session, b"b ENABLE QRESYNC\r\n")
    assert reply == b"* ENABLED\r\nb OK ENABLE completed\r\n"


def test_logout_says_bye_and_closes() -> None:
    session = IMAPSession(Settings())
    [reply] = replies(session, b"z LOGOUT\r\n")
    assert reply == b"* BYE Logging out\r\nz OK LOGOUT completed\r\n" and session.closed


def test_too_many_bad_commands_end_the_session() -> None:
    session = IMAPSession(Settings(max_bad_commands=3))
    out = replies(session, b"x\r\ny\r\nz\r\n")
    assert b"* BYE" in out[-1]  # type: ignore[operator]
    assert session.state is State.LOGOUT


def test_literal_continuation_is_a_reply() -> None:
    session = IMAPSession(Settings(), tls=True)
    [reply] = replies(session, b"a LOGIN {3}\r\n")
    assert reply == b"+ Ready for literal data\r\n"


def test_view_holds_expunges_back_until_allowed() -> None:
    view = MailboxView.open(mailbox(), [msg(1), msg(2), msg(3)], readonly=False)
    held = view.refresh([msg(1), msg(3)], allow_expunge=False, rev2=True)
    assert held == [] and view.exists == 3 and view.is_expunged(UID(2))
    assert [s for s, _m in view.resolve(SequenceSet(((3, 3),)), uid=False)] == [3]
    out = view.refresh([msg(1), msg(3), msg(4)], allow_expunge=True, rev2=True)
    assert encoded(out) == b"* 2 EXPUNGE\r\n* 3 EXISTS\r\n"
    assert view.uids == [1, 3, 4]


def test_view_reports_expunges_from_the_top_down() -> None:
    view = MailboxView.open(mailbox(), [msg(u) for u in range(1, 6)], readonly=False)
    out = view.refresh([msg(1), msg(3)], allow_expunge=True, rev2=True)
    assert encoded(out) == b"* 5 EXPUNGE\r\n* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n"


def test_view_under_qresync_sends_vanished_and_uid_in_fetch() -> None:
    view = MailboxView.open(mailbox(), [msg(1), msg(2), msg(3)], readonly=False, qresync=True)
    out = view.refresh([msg(1, frozenset({"\\Seen"}), modseq=9)], allow_expunge=True, rev2=True)
    assert encoded(out) == (b"* VANISHED 2:3\r\n"
                            b"* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (9))\r\n")


def test_view_in_rev1_counts_recent_arrivals() -> None:
    view = MailboxView.open(mailbox(), [msg(1)], readonly=False)
    out = view.refresh([msg(1), msg(2)], allow_expunge=True, rev2=False)
    assert encoded(out) == b"* 2 EXISTS\r\n* 1 RECENT\r\n"


def test_sequence_numbers_beyond_exists_are_an_error() -> None:
    view = MailboxView.open(mailbox(), [msg(1)], readonly=False)
    try:
        view.resolve(SequenceSet(((2, 2),)), uid=False)
    except BadSequence:
        pass
    else:
        raise AssertionError("expected BadSequence")
    assert [m.uid for _s, m in view.resolve(SequenceSet(((5, None),)), uid=True)] == [1]
