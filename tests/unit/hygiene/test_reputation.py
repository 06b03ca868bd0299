"""Greylisting with a simulated clock, token-bucket rate limits and DNSBL lookups."""

from __future__ import annotations

import uuid

from tests.conftest import require_redis
from tidings.delivery.stages import Accept, EnvelopeInput, Reject, TempFail
from tidings.hygiene.dnsbl import DNSBLStage, Reputation, query_name
from tidings.hygiene.greylist import (
    Greylist,
    GreylistPolicy,
    GreylistStage,
    MemoryGreylistStore,
    RedisGreylistStore,
    client_network,
)
from tidings.hygiene.ratelimit import MemoryBuckets, RateLimitStage, RedisBuckets

from .dns_fake import DictLookup, Zone


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def envelope(ip: str = "192.0.2.7", sender: str = "a@remote.test",
             recipient: str = "bob@example.test", first: bool = True) -> EnvelopeInput:
    return EnvelopeInput(ip, "client.test", sender, recipient, first)


def greylist_stage(clock: Clock, **policy: float) -> GreylistStage:
    store = MemoryGreylistStore()
    return GreylistStage(Greylist(store, GreylistPolicy(**policy), clock=clock))  # type: ignore[arg-type]


async def test_first_attempt_is_greylisted_and_a_retry_after_the_delay_passes() -> None:
    clock = Clock()
    stage = greylist_stage(clock, delay_seconds=300.0)
    first = await stage.check(envelope())
    assert isinstance(first, TempFail) and first.enhanced == "4.7.1" and first.code == 451
    clock.now += 120
    assert isinstance(await stage.check(envelope()), TempFail)  # too early
    clock.now += 200
    assert await stage.check(envelope()) == Accept()
    clock.now += 3600
    assert await stage.check(envelope()) == Accept()  # remembered


async def test_a_retry_from_another_address_of_the_same_network_passes() -> None:
    clock = Clock()
    stage = greylist_stage(clock, delay_seconds=60.0)
    await stage.check(envelope("192.0.2.7"))
    clock.now += 61
    assert await stage.check(envelope("192.0.2.200")) == Accept()
    assert client_network("2001:db8:1:2:3::9") == "2001:db8:1:2::/64"
    assert client_network("::ffff:192.0.2.7") == "192.0.2.0/24"


async def test_a_retry_after_the_window_starts_over() -> None:
    clock = Clock()
    stage = greylist_stage(clock, delay_seconds=60.0, retry_window_seconds=3600.0)
    await stage.check(envelope())
    clock.now += 7200
    assert isinstance(await stage.check(envelope()), TempFail)


async def test_a_network_is_allow_listed_after_enough_passes() -> None:
    clock = Clock()
    stage = greylist_stage(clock, delay_seconds=60.0, allow_after_passes=2)
    for sender in ("a@r.test", "b@r.test"):
        await stage.check(envelope(sender=sender))
    clock.now += 61
    for sender in ("a@r.test", "b@r.test"):
        assert await stage.check(envelope(sender=sender)) == Accept()
    assert await stage.check(envelope(sender="new@r.test")) == Accept()  # no greylisting


async def test_greylisting_in_redis_shares_state() -> None:
    require_redis()
    import redis.asyncio as aioredis

    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        clock = Clock()
        prefix = f"tidings-test:greylist:{uuid.uuid4().hex}:"
        store = RedisGreylistStore(client, prefix)
        stage = GreylistStage(Greylist(store, GreylistPolicy(delay_seconds=60.0), clock=clock))
        assert isinstance(await stage.check(envelope()), TempFail)
        clock.now += 61
        assert await stage.check(envelope()) == Accept()
        # A second node reading the same Redis sees the passed triplet.
        other = GreylistStage(Greylist(RedisGreylistStore(client, prefix),
                                       GreylistPolicy(delay_seconds=60.0), clock=clock))
        assert await other.check(envelope()) == Accept()
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_the_ip_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    stage = RateLimitStage(MemoryBuckets(clock), per_ip_per_minute=2)
    assert await stage.check(envelope()) == Accept()
    assert await stage.check(envelope()) == Accept()
    refused = await stage.check(envelope())
    assert isinstance(refused, TempFail) and refused.code == 451
    assert await stage.check(envelope(first=False)) == Accept()  # same transaction
    clock.now += 30  # one token back
    assert await stage.check(envelope()) == Accept()
    assert isinstance(await stage.check(envelope()), TempFail)


async def test_the_sender_bucket_is_per_sender() -> None:
    stage = RateLimitStage(MemoryBuckets(Clock()), per_sender_per_minute=1)
    assert await stage.check(envelope(sender="a@r.test")) == Accept()
    assert isinstance(await stage.check(envelope(ip="198.51.100.1", sender="A@r.test")),
                      TempFail)
    assert await stage.check(envelope(sender="b@r.test")) == Accept()
    assert await stage.check(envelope(sender="")) == Accept()  # bounces are not counted


async def test_redis_buckets_limit_across_clients() -> None:
    require_redis()
    import redis.asyncio as aioredis

    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        buckets = RedisBuckets(client)
        key = f"test:{id(buckets)}"
        assert await buckets.take(key, 1 / 60, 1)
        assert not await buckets.take(key, 1 / 60, 1)
    finally:
        await client.aclose()


def test_dnsbl_names_are_reversed_addresses_under_the_zone() -> None:
    assert query_name("192.0.2.99", "bl.test") == "99.2.0.192.bl.test"
    assert query_name("::ffff:192.0.2.99", "bl.test") == "99.2.0.192.bl.test"
    assert query_name("2001:db8::1", "bl.test").startswith("1.0.0.0.0.0.0.0.")
    assert query_name("2001:db8::1", "bl.test").endswith(".8.b.d.0.1.0.0.2.bl.test")


async def test_dnsbl_refuses_a_listed_client_and_ignores_error_answers() -> None:
    zone = Zone().add("7.2.0.192.bl.test", "A", "127.0.0.2")
    zone.add("8.2.0.192.bl.test", "A", "127.255.255.254")  # "query refused", not a listing
    stage = DNSBLStage(Reputation(DictLookup(zone), block_zones=["bl.test"]))
    refused = await stage.check(envelope("192.0.2.7"))
    assert isinstance(refused, Reject)
    assert (refused.code, refused.enhanced) == (554, "5.7.1") and "bl.test" in refused.text
    assert await stage.check(envelope("192.0.2.8")) == Accept()
    assert await stage.check(envelope("192.0.2.9")) == Accept()


async def test_an_unreachable_dnsbl_fails_open() -> None:
    zone = Zone()
    zone.servfail.add("7.2.0.192.bl.test")
    stage = DNSBLStage(Reputation(DictLookup(zone), block_zones=["bl.test"]))
    assert await stage.check(envelope("192.0.2.7")) == Accept()


async def test_dnsbl_answers_are_cached_per_ip() -> None:
    zone = Zone().add("7.2.0.192.bl.test", "A", "127.0.0.2")
    reputation = Reputation(DictLookup(zone), block_zones=["bl.test"])
    await reputation.check("192.0.2.7")
    await reputation.check("192.0.2.7")
    assert zone.queries == [("7.2.0.192.bl.test", "A")]
