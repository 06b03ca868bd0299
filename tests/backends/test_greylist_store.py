"""The greylisting state in the store (migration 7) on SQLite and PostgreSQL, driven
through the greylister with a simulated clock."""

from __future__ import annotations

from tidings.hygiene.greylist import Greylist, GreylistPolicy
from tidings.store import SQLStore
from tidings.store.services import GreylistTriplet


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_triplets_expire_and_upsert(store: SQLStore) -> None:
    greylist = store.greylist
    await greylist.put("n|a|b", GreylistTriplet(100.0), 100.0, 60.0)
    assert await greylist.get("n|a|b", 150.0) == GreylistTriplet(100.0)
    assert await greylist.get("n|a|b", 161.0) is None
    await greylist.put("n|a|b", GreylistTriplet(100.0, True), 150.0, 600.0)
    assert await greylist.get("n|a|b", 700.0) == GreylistTriplet(100.0, True)


async def test_network_passes_count_and_allow_listing_expires(store: SQLStore) -> None:
    greylist = store.greylist
    assert await greylist.count_pass("192.0.2.0/24", 0.0, 100.0) == 1
    assert await greylist.count_pass("192.0.2.0/24", 1.0, 100.0) == 2
    assert await greylist.allowed_until("192.0.2.0/24", 2.0) == 0.0
    await greylist.allow("192.0.2.0/24", 2.0, 50.0)
    assert await greylist.allowed_until("192.0.2.0/24", 3.0) == 50.0
    assert await greylist.allowed_until("192.0.2.0/24", 51.0) == 0.0


async def test_greylisting_on_the_store_tempfails_then_passes(store: SQLStore) -> None:
    clock = Clock()
    greylist = Greylist(store.greylist, GreylistPolicy(delay_seconds=300.0,
                                                       allow_after_passes=1), clock=clock)
    assert await greylist.check("192.0.2.7", "a@r.test", "bob@x.test") > 0
    clock.now += 301
    assert await greylist.check("192.0.2.9", "a@r.test", "bob@x.test") == 0
    # One pass allow-lists the network: a new triplet is not greylisted.
    assert await greylist.check("192.0.2.9", "new@r.test", "bob@x.test") == 0
