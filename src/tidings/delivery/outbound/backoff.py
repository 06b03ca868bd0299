"""When to try a recipient again, when to warn the sender and when to give up
(RFC 5321 §4.5.4.1: retry for at least 4-5 days; RFC 3464 "delayed" notices)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_STEPS: tuple[float, ...] = (300.0, 600.0, 1200.0, 2400.0, 4000.0)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Waits between attempts (the last repeats), the give-up age and the delay-notice age."""

    steps: tuple[float, ...] = DEFAULT_STEPS
    give_up_after: timedelta = timedelta(days=5)
    delay_notice_after: timedelta = timedelta(hours=4)

    def __post_init__(self) -> None:
        if not self.steps or any(step <= 0 for step in self.steps):
            raise ValueError("a retry schedule needs at least one positive wait")

    @classmethod
    def from_seconds(
        cls, steps: Sequence[float], give_up_after: float, delay_notice_after: float
    ) -> RetrySchedule:
        return cls(
            tuple(float(s) for s in steps),
            timedelta(seconds=give_up_after),
            timedelta(seconds=delay_notice_after),
        )

    def wait_after(self, failed_attempts: int) -> timedelta:
        """The wait after the n-th failed attempt (1-based); the last step repeats."""
        index = min(max(failed_attempts, 1), len(self.steps)) - 1
        return timedelta(seconds=self.steps[index])

    def deadline(self, created_at: datetime) -> datetime:
        return created_at + self.give_up_after

    def next_attempt(
        self, created_at: datetime, failed_attempts: int, now: datetime
    ) -> datetime | None:
        """When to retry after `failed_attempts` temporary failures; None: give up now.

        The last retry is pulled in to the deadline, so the final attempt happens at
        the give-up age rather than up to one step later."""
        deadline = self.deadline(created_at)
        if now >= deadline:
            return None
        return min(now + self.wait_after(failed_attempts), deadline)

    def delay_notice_due(self, created_at: datetime, now: datetime) -> bool:
        return now - created_at >= self.delay_notice_after
