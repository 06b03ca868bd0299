"""A short-lived cache of verified passwords, shared by IMAP, DAV and every other
protocol (docs/decisions/0003a-imap-login-cache-and-shared-state.md).

Password hashing is argon2id at t=3, m=64 MiB, p=4 on purpose; mail clients open a
new connection for every check and folder, and HTTP Basic sends the password with
every DAV request. A verified pair is kept for `ttl` seconds under (login,
HMAC-SHA256(process secret, password)) with a fingerprint of the stored credential:
`Authenticator.authenticate_cached` accepts a hit only while the stored credential
is unchanged and the principal may still log in (one indexed read), so a password
change, a removed app password or a disabled account takes effect at once. The
cache lives in this process's memory only and never holds the password itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from tidings.model.directory import Credential, Principal

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
        self._entries: OrderedDict[tuple[str, bytes], tuple[float, Principal, str]] = (
            OrderedDict()
        )

    def _key(self, login: str, password: str) -> tuple[str, bytes]:
        digest = hmac.new(self._secret, password.encode("utf-8", "surrogatepass"),
                          hashlib.sha256).digest()
        return login.casefold(), digest

    def get(self, login: str, password: str) -> tuple[Principal, str] | None:
        """(principal, credential fingerprint) if this exact pair was verified less
        than `ttl` seconds ago."""
        key = self._key(login, password)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, principal, fingerprint = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return principal, fingerprint

    def put(self, login: str, password: str, principal: Principal, fingerprint: str) -> None:
        """Remember a pair the Authenticator just accepted, with the fingerprint of
        the stored credential it was checked against."""
        key = self._key(login, password)
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl, principal, fingerprint)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # the oldest entry goes first

    def forget(self, login: str) -> None:
        """Drop every entry of a login (after a failed attempt with another password)."""
        folded = login.casefold()
        for key in [k for k in self._entries if k[0] == folded]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def credential_fingerprint(credential: Credential) -> str:
    """Changes whenever a password, an app password or the principal's state changes."""
    principal = credential.principal
    parts = [
        credential.password_hash or "",
        *(f"{ident}:{digest}" for ident, digest in credential.app_password_hashes),
        str(principal.enabled),
        principal.role.value,
    ]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
