"""A short-lived cache of verified Basic credentials (as IMAP's, decision 0003a).

HTTP Basic sends the password with every request and a DAV sync makes hundreds of
them; argon2id on each would cost more than the work itself. A verified pair is kept
for `ttl` seconds under (login, HMAC-SHA256(process secret, password)): the same
client repeating the same password skips the hash; anything else goes to the
Authenticator (with its throttling). The password itself is never kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from tidings.model.directory import Principal


class LoginCache:
    """Verified (login, password) pairs -> principal, for at most `ttl` seconds."""

    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._secret = secrets.token_bytes(32)  # per process: keys are useless elsewhere
        self._entries: OrderedDict[tuple[str, bytes], tuple[float, Principal]] = OrderedDict()

    def _key(self, login: str, password: str) -> tuple[str, bytes]:
        digest = hmac.new(
            self._secret, password.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()
        return login.casefold(), digest

    def get(self, login: str, password: str) -> Principal | None:
        key = self._key(login, password)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, login: str, password: str, principal: Principal) -> None:
        key = self._key(login, password)
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl, principal)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, login: str) -> None:
        """Drop a login's entries (a failed attempt: the password may have changed)."""
        folded = login.casefold()
        for key in [k for k in self._entries if k[0] == folded]:
            del self._entries[key]
