"""Resource booking decisions: every policy rule, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tidings.calendar.booking import BookingRequest, decide
from tidings.model.directory import ResourcePolicy

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
START = NOW + timedelta(days=2)


def request(**changes: object) -> BookingRequest:
    values: dict[str, object] = {
        "start": START, "end": START + timedelta(hours=1), "may_book": True,
        "participants": 3, "conflicts": False,
    }
    values.update(changes)
    return BookingRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "booking", "partstat"),
    [
        (ResourcePolicy(), request(), "ACCEPTED"),
        (ResourcePolicy(), request(conflicts=True), "DECLINED"),
        (ResourcePolicy(allow_conflicts=True), request(conflicts=True), "ACCEPTED"),
        (ResourcePolicy(), request(may_book=False), "DECLINED"),
        (ResourcePolicy(max_duration_minutes=30), request(), "DECLINED"),
        (ResourcePolicy(max_duration_minutes=60), request(), "ACCEPTED"),
        (ResourcePolicy(booking_window_days=1), request(), "DECLINED"),
        (ResourcePolicy(capacity=2), request(), "DECLINED"),
        (ResourcePolicy(capacity=3), request(), "ACCEPTED"),
        (ResourcePolicy(auto_accept=False), request(), "NEEDS-ACTION"),
        (ResourcePolicy(auto_accept=False), request(conflicts=True), "DECLINED"),
    ],
)
def test_policy_decides_the_answer(
    policy: ResourcePolicy, booking: BookingRequest, partstat: str
) -> None:
    decision = decide(policy, booking, NOW)
    assert decision.partstat == partstat
    assert decision.reason
