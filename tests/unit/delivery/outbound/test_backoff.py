from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tidings.delivery.outbound.backoff import RetrySchedule

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def test_waits_follow_the_schedule_and_the_last_step_repeats() -> None:
    schedule = RetrySchedule(steps=(60.0, 300.0, 900.0))
    waits = [schedule.wait_after(n).total_seconds() for n in range(1, 7)]
    assert waits == [60.0, 300.0, 900.0, 900.0, 900.0, 900.0]


def test_default_schedule_grows_exponentially_then_caps() -> None:
    schedule = RetrySchedule()
    waits = [schedule.wait_after(n).total_seconds() for n in range(1, 7)]
    assert waits[:4] == [300.0, 600.0, 1200.0, 2400.0]
    assert waits[4] == waits[5] == 4000.0


def test_next_attempt_is_now_plus_the_step() -> None:
    schedule = RetrySchedule(steps=(60.0, 120.0))
    now = T0 + timedelta(minutes=5)
    assert schedule.next_attempt(T0, 2, now) == now + timedelta(seconds=120)


def test_last_retry_is_pulled_in_to_the_deadline() -> None:
    schedule = RetrySchedule(steps=(3600.0,), give_up_after=timedelta(hours=10))
    now = T0 + timedelta(hours=9, minutes=30)
    assert schedule.next_attempt(T0, 10, now) == T0 + timedelta(hours=10)


def test_gives_up_at_the_deadline() -> None:
    schedule = RetrySchedule()
    assert schedule.next_attempt(T0, 40, T0 + timedelta(days=5)) is None
    assert schedule.next_attempt(T0, 40, T0 + timedelta(days=4, hours=23)) is not None


def test_delay_notice_is_due_after_four_hours_by_default() -> None:
    schedule = RetrySchedule()
    assert not schedule.delay_notice_due(T0, T0 + timedelta(hours=3, minutes=59))
    assert schedule.delay_notice_due(T0, T0 + timedelta(hours=4))


def test_schedule_from_config_seconds() -> None:
    schedule = RetrySchedule.from_seconds([10, 20], 3600, 600)
    assert schedule.steps == (10.0, 20.0)
    assert schedule.give_up_after == timedelta(hours=1)
    assert schedule.delay_notice_after == timedelta(minutes=10)


@pytest.mark.parametrize("steps", [(), (0.0,), (10.0, -1.0)])
def test_empty_or_non_positive_schedule_is_refused(steps: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        RetrySchedule(steps=steps)
