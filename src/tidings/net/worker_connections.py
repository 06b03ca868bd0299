"""Open connections per listener and client address across the workers of
`serve --workers` (docs/decisions/0009-workers.md §6).

Each worker counts its own connections and the ones each peer reported over the
peer bus (store/peers.py), kept apart per peer so that a restarted peer's stale
counts can be dropped at once. The total is what `max_connections_per_ip` is checked
against. Reports are hints sent on the next loop turn: two connections arriving at
two workers within the same instant may both be let in (the limit can be overshot
by at most one per worker, for as long as a datagram takes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from tidings.net.listener import AddressCounts

Relay = Callable[[str, int], None]  # key ("listener address"), delta


class WorkerConnections:
    """The server-wide count, fed by this worker's listeners and by its peers."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self._own: Counter[str] = Counter()
        self._peers: dict[int, Counter[str]] = {}

    def for_listener(self, name: str) -> AddressCounts:
        return _ListenerCounts(self, name)

    def total(self, key: str) -> int:
        return self._own[key] + sum(peer[key] for peer in self._peers.values())

    def opened(self, key: str) -> None:
        self._own[key] += 1
        self.relay(key, 1)

    def closed(self, key: str) -> None:
        self._own[key] -= 1
        if self._own[key] <= 0:
            del self._own[key]
        self.relay(key, -1)

    def own(self) -> dict[str, int]:
        """This worker's open connections per key (for a peer that has just started)."""
        return dict(self._own)

    def peer_changed(self, peer: int, key: str, delta: int) -> None:
        counts = self._peers.setdefault(peer, Counter())
        counts[key] += delta
        if counts[key] == 0:
            del counts[key]

    def peer_reset(self, peer: int) -> None:
        """`peer` restarted (or is about to resend its counts): forget what it said."""
        self._peers.pop(peer, None)


class _ListenerCounts:
    def __init__(self, shared: WorkerConnections, listener: str) -> None:
        self.shared = shared
        self.prefix = f"{listener} "

    def count(self, key: str) -> int:
        return self.shared.total(self.prefix + key)

    def opened(self, key: str) -> None:
        self.shared.opened(self.prefix + key)

    def closed(self, key: str) -> None:
        self.shared.closed(self.prefix + key)
