"""Messages per sender per hour."""

from __future__ import annotations

from tidings.delivery.limits import SenderRateLimit


def test_sender_may_send_up_to_the_limit_per_sliding_hour() -> None:
    now = [1000.0]
    limit = SenderRateLimit(2, clock=lambda: now[0])
    for _ in range(2):
        assert limit.allows("Alice@example.test")
        limit.record("alice@example.test")
    assert not limit.allows("alice@example.test")
    assert limit.allows("bob@example.test")
    now[0] += 3599
    assert not limit.allows("alice@example.test")
    now[0] += 2
    assert limit.allows("alice@example.test")
