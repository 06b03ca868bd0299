"""Messages per sender per hour: a sliding-window counter kept in this process.

One node only; a cluster would keep the windows in Redis (not done yet).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 3600.0
MAX_TRACKED_SENDERS = 100_000  # bound memory; the oldest idle senders are forgotten first


class SenderRateLimit:
    """At most `max_per_hour` accepted messages per sender key in any 60-minute window."""

    def __init__(
        self, max_per_hour: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_per_hour = max_per_hour
        self.clock = clock
        self._windows: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= MAX_TRACKED_SENDERS:
                self._windows.pop(next(iter(self._windows)))
            window = self._windows[key] = deque()
        while window and window[0] <= now - WINDOW_SECONDS:
            window.popleft()
        return window

    def allows(self, key: str) -> bool:
        """True if `key` may send one more message now."""
        return len(self._window(key.lower(), self.clock())) < self.max_per_hour

    def record(self, key: str) -> None:
        """Count one accepted message for `key`."""
        now = self.clock()
        self._window(key.lower(), now).append(now)
