"""Encoded ENVELOPE values by blob id (RFC 9051 §7.5.2 ENVELOPE).

Blobs are content-addressed, so a blob id names one message text forever and its
ENVELOPE never changes: the wire bytes can be kept and reused by every session,
which spares reading and parsing the message on each FETCH ENVELOPE (the common
first request of a syncing client). Bounded by total bytes; oldest entries go first.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
_ENTRY_OVERHEAD = 150  # the key, the bytes object and the dict slot, roughly


class EnvelopeCache:
    """LRU map blob id -> encoded ENVELOPE list, at most `max_bytes` in total."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def get(self, blob_id: str) -> bytes | None:
        found = self._entries.get(blob_id)
        if found is not None:
            self._entries.move_to_end(blob_id)
        return found

    def put(self, blob_id: str, encoded: bytes) -> None:
        old = self._entries.pop(blob_id, None)
        if old is not None:
            self._size -= len(old) + _ENTRY_OVERHEAD
        self._entries[blob_id] = encoded
        self._size += len(encoded) + _ENTRY_OVERHEAD
        while self._size > self.max_bytes and self._entries:
            _key, dropped = self._entries.popitem(last=False)
            self._size -= len(dropped) + _ENTRY_OVERHEAD

    def __contains__(self, blob_id: str) -> bool:
        return blob_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)
