"""Throttling of authentication failures with an injectable clock."""

from __future__ import annotations

import pytest

from tidings.directory.throttle import (
    MemoryFailureLog,
    NoThrottle,
    Throttle,
    ThrottlePolicy,
    ThrottleVerdict,
    account_key,
    ip_key,
)
from tidings.model.errors import TemporaryFailure

ACCOUNT = ThrottlePolicy(
    max_failures=3, window_seconds=600, base_delay_seconds=2, max_delay_seconds=60
)
IP = ThrottlePolicy(max_failures=10, window_seconds=600, base_delay_seconds=1, max_delay_seconds=30)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> Throttle:
    return Throttle(account_policy=ACCOUNT, ip_policy=IP, clock=clock)


async def fail(throttle: Throttle, times: int, login: str = "tim", ip: str = "192.0.2.1") -> None:
    for _ in range(times):
        await throttle.record_failure(login, ip)


async def test_failures_below_the_limit_are_not_throttled(throttle: Throttle) -> None:
    await fail(throttle, 2)
    assert await throttle.check("tim", "192.0.2.1") == ThrottleVerdict(True)


async def test_reaching_the_limit_locks_the_account_for_the_base_delay(
    throttle: Throttle, clock: FakeClock
) -> None:
    await fail(throttle, 3)
    assert await throttle.check("tim", "198.51.100.7") == ThrottleVerdict(False, 2.0)
    clock.advance(1.5)
    assert await throttle.check("tim", "198.51.100.7") == ThrottleVerdict(False, 0.5)
    clock.advance(0.5)
    assert (await throttle.check("tim", "198.51.100.7")).allowed


async def test_each_further_failure_doubles_the_delay_up_to_the_cap(
    throttle: Throttle, clock: FakeClock
) -> None:
    delays = []
    for _ in range(8):
        await throttle.record_failure("tim", "192.0.2.1")
        verdict = await throttle.check("tim", "192.0.2.1")
        delays.append(verdict.retry_after)
    assert delays == [0.0, 0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]


async def test_failures_leave_the_sliding_window(throttle: Throttle, clock: FakeClock) -> None:
    await fail(throttle, 2)
    clock.advance(601)
    await fail(throttle, 1)
    assert (await throttle.check("tim", "192.0.2.1")).allowed


async def test_login_is_compared_case_insensitively(throttle: Throttle) -> None:
    await fail(throttle, 3, login="Tim@Example.com")
    assert not (await throttle.check(" tim@example.com", "192.0.2.9")).allowed


async def test_one_address_guessing_many_accounts_is_throttled(throttle: Throttle) -> None:
    for n in range(10):
        await throttle.record_failure(f"user{n}", "192.0.2.1")
    verdict = await throttle.check("someone-else", "192.0.2.1")
    assert verdict == ThrottleVerdict(False, 1.0)
    assert (await throttle.check("someone-else", "192.0.2.2")).allowed


async def test_success_clears_the_account_but_not_the_address(throttle: Throttle) -> None:
    for n in range(10):
        await throttle.record_failure(f"user{n}", "192.0.2.1")
    await fail(throttle, 3, login="tim", ip="192.0.2.50")
    await throttle.record_success("tim", "192.0.2.1")
    assert (await throttle.check("tim", "192.0.2.50")).allowed
    assert not (await throttle.check("tim", "192.0.2.1")).allowed


async def test_exempt_networks_skip_only_the_address_limit(clock: FakeClock) -> None:
    throttle = Throttle(
        account_policy=ACCOUNT,
        ip_policy=IP,
        clock=clock,
        exempt_networks=["127.0.0.0/8", "::1/128"],
    )
    for n in range(20):
        await throttle.record_failure(f"user{n}", "127.0.0.1")
    assert (await throttle.check("fresh", "127.0.0.1")).allowed
    await fail(throttle, 3, login="tim", ip="127.0.0.1")
    assert not (await throttle.check("tim", "127.0.0.1")).allowed


def test_ipv6_addresses_count_per_64() -> None:
    assert ip_key("2001:db8:1:2::1") == ip_key("2001:db8:1:2:ffff::9")
    assert ip_key("2001:db8:1:2::1") != ip_key("2001:db8:1:3::1")
    assert ip_key("::ffff:192.0.2.1") == ip_key("192.0.2.1")
    assert ip_key("not an ip") == "ip:not an ip"
    assert account_key(" Tim ") == "acct:tim"


async def test_memory_log_forgets_the_oldest_keys_beyond_its_bound() -> None:
    log = MemoryFailureLog(max_keys=3)
    for n in range(5):
        await log.add(f"k{n}", float(n), 60)
    assert len(log) == 3
    assert await log.recent("k0", 0) == ()
    assert await log.recent("k4", 0) == (4.0,)


async def test_memory_log_prunes_entries_older_than_asked() -> None:
    log = MemoryFailureLog()
    for at in (1.0, 2.0, 3.0):
        await log.add("k", at, 60)
    assert await log.recent("k", 2.0) == (2.0, 3.0)
    await log.clear("k")
    assert await log.recent("k", 0) == ()


class BrokenLog:
    async def recent(self, key: str, since: float) -> list[float]:
        raise TemporaryFailure("down")

    async def add(self, key: str, at: float, keep_seconds: float) -> None:
        raise TemporaryFailure("down")

    async def clear(self, key: str) -> None:
        raise TemporaryFailure("down")


async def test_unreachable_failure_log_allows_attempts(clock: FakeClock) -> None:
    throttle = Throttle(BrokenLog(), clock=clock)
    await throttle.record_failure("tim", "192.0.2.1")
    await throttle.record_success("tim", "192.0.2.1")
    assert (await throttle.check("tim", "192.0.2.1")).allowed


async def test_no_throttle_never_refuses() -> None:
    throttle = NoThrottle()
    for _ in range(100):
        await throttle.record_failure("tim", "192.0.2.1")
    assert (await throttle.check("tim", "192.0.2.1")).allowed


def test_policy_delay_is_zero_below_the_limit_and_capped_above() -> None:
    assert ACCOUNT.delay_after(0) == 0.0
    assert ACCOUNT.delay_after(2) == 0.0
    assert ACCOUNT.delay_after(3) == 2.0
    assert ACCOUNT.delay_after(10_000) == 60.0
