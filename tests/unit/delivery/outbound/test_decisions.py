from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tidings.delivery.outbound.backoff import RetrySchedule
from tidings.delivery.outbound.decisions import (
    EXPIRED,
    decide,
    delay_reports,
    due_recipients,
    wants_notice,
)
from tidings.delivery.outbound.dsn import DSNAction
from tidings.delivery.outbound.results import (
    AttemptResult,
    Outcome,
    enhanced_of,
    outcome_of_code,
    result_for,
    temporary,
)
from tidings.model.ids import BlobId, QueueId
from tidings.model.queue import QueuedMessage, QueueRecipient, RecipientState

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule(steps=(60.0, 600.0))


def _recipient(address: str = "bob@remote.test", *, attempts: int = 0, notify: str | None = None,
               state: RecipientState = RecipientState.PENDING,
               next_at: datetime | None = T0) -> QueueRecipient:
    return QueueRecipient(address, state, attempts, next_at, None, notify)


def _message(*recipients: QueueRecipient, sender: str = "alice@local.test",
             notified: bool = False) -> QueuedMessage:
    return QueuedMessage(QueueId(1), sender, BlobId("b"), 10, T0, recipients,
                         delay_notified=notified)


def test_delivered_result_records_delivery_without_report() -> None:
    r = _recipient()
    d = decide(_message(r), r, result_for(r.address, 250, "2.0.0 ok"), SCHEDULE, T0)
    assert d.outcome is Outcome.DELIVERED
    assert (d.error, d.next_attempt_at, d.bounce) == (None, None, None)


def test_temporary_failure_is_retried_after_the_backoff_step() -> None:
    r = _recipient(attempts=1)
    now = T0 + timedelta(minutes=2)
    d = decide(_message(r), r, result_for(r.address, 451, "4.3.0 try later"), SCHEDULE, now)
    assert d.outcome is Outcome.TEMPORARY
    assert d.next_attempt_at == now + timedelta(seconds=600)
    assert d.error == "451 4.3.0 try later"
    assert d.bounce is None


def test_permanent_failure_gets_a_failed_report() -> None:
    r = _recipient()
    d = decide(_message(r), r, result_for(r.address, 550, "5.1.1 no such user", "mx.r"),
               SCHEDULE, T0)
    assert d.outcome is Outcome.PERMANENT
    assert d.bounce is not None
    assert (d.bounce.action, d.bounce.status, d.bounce.remote_mta) == (
        DSNAction.FAILED, "5.1.1", "mx.r")


def test_temporary_failure_after_five_days_becomes_expired_failure() -> None:
    r = _recipient(attempts=50)
    now = T0 + timedelta(days=5, seconds=1)
    d = decide(_message(r), r, temporary(r.address, "cannot reach"), RetrySchedule(), now)
    assert d.outcome is Outcome.PERMANENT
    assert d.bounce is not None and d.bounce.status == EXPIRED
    assert d.error is not None and d.error.startswith("gave up after 5.0 days")


def test_null_sender_never_gets_a_bounce() -> None:
    r = _recipient()
    d = decide(_message(r, sender=""), r, result_for(r.address, 550, "no"), SCHEDULE, T0)
    assert d.outcome is Outcome.PERMANENT and d.bounce is None


def test_notify_never_suppresses_the_bounce() -> None:
    r = _recipient(notify="NEVER")
    d = decide(_message(r), r, result_for(r.address, 550, "no"), SCHEDULE, T0)
    assert d.bounce is None


@pytest.mark.parametrize(
    ("notify", "kind", "expected"),
    [
        (None, "FAILURE", True), (None, "DELAY", True), (None, "SUCCESS", False),
        ("NEVER", "FAILURE", False), ("SUCCESS,FAILURE", "FAILURE", True),
        ("success", "SUCCESS", True), ("FAILURE", "DELAY", False),
    ],
)
def test_notify_parameter_rules(notify: str | None, kind: str, expected: bool) -> None:
    assert wants_notice(notify, kind) is expected


def test_delay_reports_only_after_the_delay_age_and_only_once() -> None:
    r = _recipient()
    deferred = [(r, temporary(r.address, "connection refused"))]
    early = delay_reports(_message(r), deferred, RetrySchedule(), T0 + timedelta(hours=3))
    assert early == []
    due = delay_reports(_message(r), deferred, RetrySchedule(), T0 + timedelta(hours=4))
    assert [x.action for x in due] == [DSNAction.DELAYED]
    assert due[0].will_retry_until == T0 + timedelta(days=5)
    again = delay_reports(_message(r, notified=True), deferred, RetrySchedule(),
                          T0 + timedelta(hours=5))
    assert again == []


def test_delay_reports_respect_notify_and_null_sender() -> None:
    quiet = _recipient(notify="FAILURE")
    later = T0 + timedelta(hours=5)
    deferred = [(quiet, temporary(quiet.address, "x"))]
    assert delay_reports(_message(quiet), deferred, RetrySchedule(), later) == []
    r = _recipient()
    assert delay_reports(_message(r, sender=""), [(r, temporary(r.address, "x"))],
                         RetrySchedule(), later) == []


def test_due_recipients_skips_finished_and_future_ones() -> None:
    due = _recipient("a@r.test")
    future = _recipient("b@r.test", next_at=T0 + timedelta(hours=1))
    done = _recipient("c@r.test", state=RecipientState.DELIVERED)
    assert due_recipients(_message(due, future, done), T0) == [due]


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(250, Outcome.DELIVERED), (251, Outcome.DELIVERED), (421, Outcome.TEMPORARY),
     (452, Outcome.TEMPORARY), (550, Outcome.PERMANENT), (554, Outcome.PERMANENT),
     (999, Outcome.TEMPORARY)],
)
def test_reply_codes_map_to_outcomes(code: int, outcome: Outcome) -> None:
    assert outcome_of_code(code) is outcome


def test_enhanced_code_is_split_off_or_derived() -> None:
    assert enhanced_of(550, "5.1.1 No such user") == ("5.1.1", "No such user")
    assert enhanced_of(550, "No such user", "1.0") == ("5.1.0", "No such user")
    assert enhanced_of(451, "4.x.y odd") == ("4.0.0", "4.x.y odd")


def test_diagnostic_is_one_line() -> None:
    result = AttemptResult("a@b", Outcome.PERMANENT, 550, "5.1.1", "No such user")
    assert result.diagnostic == "550 5.1.1 No such user"
    assert result_for("a@b", 550, "5.7.1 multi\nline").text == "multi line"
