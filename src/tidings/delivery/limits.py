"""Messages per sender per hour: a sliding-window counter kept in this process.

With `serve --workers N` the workers tell each other about every accepted message
over the peer bus (store/peers.py), so each worker's windows hold the server-wide
count: `relay` sends ours, `count_elsewhere` adds theirs, `windows` and `adopt` bring
a restarted worker up to date. One machine only; a cluster would keep the windows
in Redis (not done yet).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence

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
        # Set with workers: told the (lower-cased) key of each message accepted here.
        # Fire and forget: it must not block the SMTP reply.
        self.relay: Callable[[str], None] | None = None

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
        key = key.lower()
        now = self.clock()
        self._window(key, now).append(now)
        if self.relay is not None:
            self.relay(key)

    def count_elsewhere(self, key: str, messages: int = 1) -> None:
        """Count messages another worker accepted for `key` just now."""
        now = self.clock()
        self._window(key.lower(), now).extend([now] * max(0, min(messages, self.max_per_hour)))

    def windows(self) -> Iterator[tuple[str, list[float]]]:
        """Each sender with messages in the window: its key and how many seconds ago
        each was accepted, newest first (for a worker that has just started)."""
        now = self.clock()
        for key in list(self._windows):
            window = self._window(key, now)
            if window:
                yield key, [now - at for at in reversed(window)]

    def adopt(self, key: str, ages: Sequence[float]) -> None:
        """Take a peer's view of `key` (seconds ago, any order) if it saw more
        messages than we did: every worker's view is server-wide, so the longer one
        only misses less (a worker restarted with empty windows)."""
        now = self.clock()
        window = self._window(key.lower(), now)
        fresh = sorted(now - age for age in ages if 0 <= age < WINDOW_SECONDS)
        if len(fresh) > len(window):
            window.clear()
            window.extend(fresh)
