"""The per-connection command rate limit slows a flooding client down."""

from __future__ import annotations

from tidings.imap.server import CommandRate


def test_commands_within_the_burst_run_at_once_and_then_wait() -> None:
    rate = CommandRate(rate=10.0, burst=5.0)
    assert [rate.delay() for _ in range(5)] == [0.0] * 5
    assert rate.delay() > 0.05
