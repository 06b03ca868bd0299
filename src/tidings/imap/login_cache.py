"""A short-lived cache of verified LOGIN credentials
(docs/decisions/0003a-imap-login-cache-and-shared-state.md).

Password hashing is argon2id at t=3, m=64 MiB, p=4 on purpose; mail clients, though,
open a new connection for every check and every folder. A successful LOGIN (or
AUTHENTICATE PLAIN with an initial response) is kept for `ttl` seconds under
(login, HMAC-SHA256(process secret, password)), so the same client repeating the
same password skips the hash; a wrong password, an unknown
login or an expired entry always goes to the Authenticator. The cache lives in this
process's memory only and never holds the password itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from tidings.model.directory import Principal

DEFAULT_TTL_SECONDS = 60.0
DEFAULT_MAX_ENTRIES = 10_000


class LoginCache:
    """Verified (login, password) pairs -> principal, for at most `ttl` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._secret = secrets.token_bytes(32)  # per process: keys are useless elsewhere
        self._entries: OrderedDict[tuple[str, bytes], tuple[float, Principal]] = OrderedDict()

    def _key(self, login: str, password: str) -> tuple[str, bytes]:
        digest = hmac.new(self._secret, password.encode("utf-8", "surrogatepass"),
                          hashlib.sha256).digest()
        return login.casefold(), digest

    def get(self, login: str, password: str) -> Principal | None:
        """The principal if this exact pair was verified less than `ttl` seconds ago."""
        key = self._key(login, password)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, principal = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return principal

    def put(self, login: str, password: str, principal: Principal) -> None:
        """Remember a pair the Authenticator just accepted."""
        key = self._key(login, password)
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl, principal)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # the oldest entry goes first

    def forget(self, login: str) -> None:
        """Drop every entry of a login (after a failed attempt with another password)."""
        folded = login.casefold()
        for key in [k for k in self._entries if k[0] == folded]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
