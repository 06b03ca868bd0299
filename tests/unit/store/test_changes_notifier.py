"""LocalNotifier: subscribers wake on publish, bursts coalesce, closing unsubscribes."""

from __future__ import annotations

import asyncio

from tidings.model.ids import AccountId, ModSeq
from tidings.store.changes import LocalNotifier

ALICE, BOB = AccountId(1), AccountId(2)


async def test_subscriber_gets_the_published_modseq() -> None:
    notifier = LocalNotifier()
    subscription = notifier.subscribe(ALICE)
    waiter = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0)
    assert not waiter.done()
    notifier.publish(ALICE, ModSeq(5))
    assert await asyncio.wait_for(waiter, 1) == 5
    await subscription.aclose()


async def test_publish_before_first_read_is_not_lost() -> None:
    notifier = LocalNotifier()
    subscription = notifier.subscribe(ALICE)
    notifier.publish(ALICE, ModSeq(3))
    assert await asyncio.wait_for(anext(subscription), 1) == 3
    await subscription.aclose()


async def test_bursts_coalesce_to_the_newest_modseq() -> None:
    notifier = LocalNotifier()
    subscription = notifier.subscribe(ALICE)
    for modseq in (4, 9, 7):
        notifier.publish(ALICE, ModSeq(modseq))
    assert await asyncio.wait_for(anext(subscription), 1) == 9
    waiter = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # nothing newer than 9 yet
    notifier.publish(ALICE, ModSeq(8))  # an older modseq never wakes anyone
    await asyncio.sleep(0.01)
    assert not waiter.done()
    notifier.publish(ALICE, ModSeq(10))
    assert await asyncio.wait_for(waiter, 1) == 10
    await subscription.aclose()


async def test_other_accounts_do_not_wake_a_subscriber() -> None:
    notifier = LocalNotifier()
    subscription = notifier.subscribe(ALICE)
    notifier.publish(BOB, ModSeq(1))
    waiter = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    await subscription.aclose()
    ended = await asyncio.gather(waiter, return_exceptions=True)
    assert isinstance(ended[0], StopAsyncIteration)


async def test_closing_ends_iteration_and_unsubscribes() -> None:
    notifier = LocalNotifier()
    async with notifier.subscribe(ALICE) as subscription:
        assert notifier.subscriber_count(ALICE) == 1
        received: list[int] = []

        async def read() -> None:
            async for modseq in subscription:
                received.append(modseq)

        reader = asyncio.ensure_future(read())
        notifier.publish(ALICE, ModSeq(1))
        await asyncio.sleep(0.01)
    await asyncio.wait_for(reader, 1)
    assert received == [1]
    assert notifier.subscriber_count(ALICE) == 0
