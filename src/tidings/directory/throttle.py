"""Throttling of repeated authentication failures, per account and per client IP.

Failures are kept in a sliding window. Once a key has `max_failures` in the
window, every further attempt must wait `base_delay * 2**(extra failures)`
seconds after the latest failure (capped), which is a temporary lockout that
grows while the guessing goes on. Where failures are stored is a `FailureLog`:
in memory for one process, Redis (`tidings.directory.throttle_redis`) for many.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tidings.model.errors import TemporaryFailure

log = logging.getLogger(__name__)

Clock = Callable[[], float]
MAX_ENTRIES_PER_KEY = 128  # beyond this the delay is at its cap anyway


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures a key may have in the window, and how delays grow after."""

    max_failures: int = 5
    window_seconds: float = 900.0
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 900.0

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after the latest of `failures` failures inside the window."""
        if failures < self.max_failures:
            return 0.0
        exponent = min(failures - self.max_failures, 40)  # 2**40 s is beyond any cap
        return float(min(self.base_delay_seconds * 2**exponent, self.max_delay_seconds))


# An account is guessed at from many addresses; an address guesses many accounts
# (and NAT puts many honest users behind one), so the IP limit is looser.
DEFAULT_ACCOUNT_POLICY = ThrottlePolicy()
DEFAULT_IP_POLICY = ThrottlePolicy(max_failures=20, base_delay_seconds=1.0)


@dataclass(frozen=True, slots=True)
class ThrottleVerdict:
    """Whether an attempt may go ahead now; if not, how long until it may."""

    allowed: bool
    retry_after: float = 0.0


ALLOWED = ThrottleVerdict(True)


class AuthThrottle(Protocol):
    """What the `Authenticator` needs from a throttle."""

    async def check(self, login: str, remote_ip: str) -> ThrottleVerdict: ...

    async def record_failure(self, login: str, remote_ip: str) -> None: ...

    async def record_success(self, login: str, remote_ip: str) -> None: ...


class FailureLog(Protocol):
    """Storage of failure timestamps per key. Raises TemporaryFailure if unreachable."""

    async def recent(self, key: str, since: float) -> Sequence[float]:
        """Timestamps at or after `since`, oldest first (older ones may be pruned)."""

    async def add(self, key: str, at: float, keep_seconds: float) -> None:
        """Record one failure at `at`; it may be forgotten after `keep_seconds`."""

    async def clear(self, key: str) -> None: ...


class MemoryFailureLog:
    """A bounded in-process `FailureLog`; the least recently failed keys go first."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._entries: OrderedDict[str, deque[float]] = OrderedDict()

    async def recent(self, key: str, since: float) -> Sequence[float]:
        entries = self._entries.get(key)
        if entries is None:
            return ()
        while entries and entries[0] < since:
            entries.popleft()
        if not entries:
            del self._entries[key]
            return ()
        return tuple(entries)

    async def add(self, key: str, at: float, keep_seconds: float) -> None:
        entries = self._entries.get(key)
        if entries is None:
            entries = self._entries[key] = deque(maxlen=MAX_ENTRIES_PER_KEY)
        entries.append(at)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


def account_key(login: str) -> str:
    return "acct:" + login.strip().casefold()


def ip_key(remote_ip: str) -> str:
    """IPv6 clients count per /64 (one host usually holds the whole /64)."""
    try:
        address = ipaddress.ip_address(remote_ip.strip())
    except ValueError:
        return "ip:" + remote_ip.strip()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


class Throttle:
    """The throttling rules over any `FailureLog` (an `AuthThrottle`).

    If the log is unreachable (TemporaryFailure) attempts are allowed and a
    warning is logged: a rate-limit store outage must not lock everyone out.
    """

    def __init__(
        self,
        failure_log: FailureLog | None = None,
        *,
        account_policy: ThrottlePolicy = DEFAULT_ACCOUNT_POLICY,
        ip_policy: ThrottlePolicy = DEFAULT_IP_POLICY,
        exempt_networks: Iterable[str] = (),
        clock: Clock = time.time,
    ) -> None:
        self.failure_log: FailureLog = failure_log or MemoryFailureLog()
        self.account_policy = account_policy
        self.ip_policy = ip_policy
        self.exempt_networks = tuple(ipaddress.ip_network(n) for n in exempt_networks)
        self.clock = clock

    async def check(self, login: str, remote_ip: str) -> ThrottleVerdict:
        """Whether an attempt for `login` from `remote_ip` may be made now."""
        now = self.clock()
        wait = 0.0
        try:
            for key, policy in self._keys(login, remote_ip):
                failures = await self.failure_log.recent(key, now - policy.window_seconds)
                if failures:
                    until = failures[-1] + policy.delay_after(len(failures))
                    wait = max(wait, until - now)
        except TemporaryFailure:
            log.warning("auth.throttle_unavailable op=check")
            return ALLOWED
        return ThrottleVerdict(False, wait) if wait > 0 else ALLOWED

    async def record_failure(self, login: str, remote_ip: str) -> None:
        """Count one failed attempt against the account and the address."""
        now = self.clock()
        try:
            for key, policy in self._keys(login, remote_ip):
                await self.failure_log.add(key, now, policy.window_seconds)
        except TemporaryFailure:
            log.warning("auth.throttle_unavailable op=record_failure")

    async def record_success(self, login: str, remote_ip: str) -> None:
        """Forget the account's failures; the address keeps its own.

        The IP count stays: else one valid account would let an attacker reset
        the limit for every other account he guesses at from the same address.
        """
        try:
            await self.failure_log.clear(account_key(login))
        except TemporaryFailure:
            log.warning("auth.throttle_unavailable op=record_success")

    def _keys(self, login: str, remote_ip: str) -> list[tuple[str, ThrottlePolicy]]:
        keys = [(account_key(login), self.account_policy)]
        if not self._is_exempt(remote_ip):
            keys.append((ip_key(remote_ip), self.ip_policy))
        return keys

    def _is_exempt(self, remote_ip: str) -> bool:
        try:
            address = ipaddress.ip_address(remote_ip.strip())
        except ValueError:
            return False
        return any(address in network for network in self.exempt_networks)


class NoThrottle:
    """An `AuthThrottle` that never refuses (tests, or a trusted front end that throttles)."""

    async def check(self, login: str, remote_ip: str) -> ThrottleVerdict:
        return ALLOWED

    async def record_failure(self, login: str, remote_ip: str) -> None:
        return None

    async def record_success(self, login: str, remote_ip: str) -> None:
        return None
