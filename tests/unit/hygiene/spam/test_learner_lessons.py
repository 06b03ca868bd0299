"""Which change-log records teach the classifier what."""

from __future__ import annotations

from tidings.hygiene.spam.learner import Lesson, filed_by_us, lessons
from tidings.model.changes import Change, ChangeOp, ObjectKind
from tidings.model.ids import AccountId, ModSeq

INBOX, JUNK, TRASH, WORK = 1, 2, 3, 4
ROLES: dict[int, str | None] = {INBOX: "inbox", JUNK: "junk", TRASH: "trash", WORK: None}


def change(modseq: int, email: int, box: int, op: ChangeOp) -> Change:
    return Change(AccountId(1), ModSeq(modseq), ObjectKind.EMAIL, email, box, op, 1)


def move(modseq: int, email: int, source: int, target: int) -> list[Change]:
    return [change(modseq, email, source, ChangeOp.DESTROYED),
            change(modseq, email, target, ChangeOp.CREATED)]


def test_moving_into_junk_teaches_spam_and_out_teaches_ham() -> None:
    found = lessons(move(5, 10, INBOX, JUNK) + move(6, 11, JUNK, WORK), ROLES)
    assert found == [Lesson(10, True, moved=True), Lesson(11, False, moved=True)]


def test_moving_from_junk_to_trash_teaches_nothing() -> None:
    assert lessons(move(5, 10, JUNK, TRASH), ROLES) == []


def test_a_copy_into_junk_teaches_spam() -> None:
    assert lessons([change(7, 12, JUNK, ChangeOp.CREATED)], ROLES) == [
        Lesson(12, True, moved=False)]


def test_flag_changes_and_plain_deliveries_elsewhere_teach_nothing() -> None:
    changes = [change(8, 13, INBOX, ChangeOp.CREATED), change(9, 13, INBOX, ChangeOp.UPDATED)]
    assert lessons(changes, ROLES) == []


def test_our_own_junk_flag_is_recognised() -> None:
    assert filed_by_us(b"X-Tidings-Spam-Flag: YES\r\nSubject: x\r\n\r\nbody")
    assert not filed_by_us(b"X-Tidings-Spam-Flag: NO\r\nSubject: x\r\n\r\nbody")
