"""Queue leases: `claim` hands each due message to one node at a time, on both
backends (FOR UPDATE SKIP LOCKED on PostgreSQL, the single writer on SQLite)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from tidings.model.ids import QueueId
from tidings.model.queue import RecipientState
from tidings.store import SQLStore, open_store
from tidings.store.sql.types import utcnow

LEASE = 300.0


async def _enqueue(store: SQLStore, count: int) -> list[QueueId]:
    blob = await store.blobs.put(b"Subject: lease\r\n\r\nbody\r\n")
    return [
        (await store.queue.enqueue("a@example.com", [f"r{i}@remote.example"], blob)).id
        for i in range(count)
    ]


async def test_enqueue_keeps_orcpt_per_recipient(store: SQLStore) -> None:
    blob = await store.blobs.put(b"Subject: x\r\n\r\n")
    queued = await store.queue.enqueue(
        "a@example.com", ["x@r.example", "y@r.example"], blob,
        orcpt=["rfc822;list@example.com", None],
    )
    assert [(r.address, r.orcpt) for r in queued.recipients] == [
        ("x@r.example", "rfc822;list@example.com"), ("y@r.example", None),
    ]
    assert (await store.queue.get(queued.id)).recipients == queued.recipients


async def test_claimed_message_is_not_due_again_until_its_lease_expires(store: SQLStore) -> None:
    [queue_id] = await _enqueue(store, 1)
    now = utcnow()
    claimed = await store.queue.claim(now, LEASE)
    assert [m.id for m in claimed] == [queue_id]
    # Returned as before the lease, so the scheduler still sees the recipient as due.
    assert claimed[0].recipients[0].next_attempt_at is not None
    assert claimed[0].recipients[0].next_attempt_at <= now
    assert await store.queue.claim(now, LEASE) == []
    assert await store.queue.due(now + timedelta(seconds=LEASE - 1)) == []
    again = await store.queue.claim(now + timedelta(seconds=LEASE + 1), LEASE)
    assert [m.id for m in again] == [queue_id]


async def test_recorded_retry_replaces_the_lease(store: SQLStore) -> None:
    [queue_id] = await _enqueue(store, 1)
    now = utcnow()
    await store.queue.claim(now, LEASE)
    retry_at = now + timedelta(seconds=60)
    await store.queue.record_attempt(
        queue_id, "r0@remote.example", delivered=False, permanent=False,
        error="451 later", next_attempt_at=retry_at,
    )
    assert [m.id for m in await store.queue.claim(retry_at, LEASE)] == [queue_id]


async def test_claim_leaves_delivered_recipients_alone(store: SQLStore) -> None:
    blob = await store.blobs.put(b"Subject: x\r\n\r\n")
    queued = await store.queue.enqueue("a@example.com", ["x@r.example", "y@r.example"], blob)
    await store.queue.record_attempt(
        queued.id, "x@r.example", delivered=True, permanent=False, error=None,
        next_attempt_at=None,
    )
    await store.queue.claim(utcnow(), LEASE)
    states = {r.address: (r.state, r.next_attempt_at) for r in
              (await store.queue.get(queued.id)).recipients}
    assert states["x@r.example"] == (RecipientState.DELIVERED, None)
    assert states["y@r.example"][0] is RecipientState.PENDING


async def test_two_nodes_claiming_at_once_never_share_a_message(
    store: SQLStore, tmp_path: Path
) -> None:
    ids = await _enqueue(store, 40)
    # A second node: its own engine and connection pool on the same database.
    other = await open_store(store.db.url, tmp_path / "blobs", migrate=False)
    try:
        now = utcnow()
        taken: list[list[int]] = [[], []]
        for _ in range(10):
            first, second = await asyncio.gather(
                store.queue.claim(now, LEASE, limit=3), other.queue.claim(now, LEASE, limit=3)
            )
            taken[0] += [m.id for m in first]
            taken[1] += [m.id for m in second]
        assert not set(taken[0]) & set(taken[1])
        assert len(taken[0]) == len(set(taken[0])) and len(taken[1]) == len(set(taken[1]))
        assert sorted(taken[0] + taken[1]) == sorted(ids)
    finally:
        await other.close()


async def test_claim_skips_excluded_messages(store: SQLStore) -> None:
    first, second = await _enqueue(store, 2)
    now = utcnow()
    assert [m.id for m in await store.queue.claim(now, LEASE, exclude=[first])] == [second]
    assert [m.id for m in await store.queue.claim(now, LEASE)] == [first]


async def test_purge_finished_drops_messages_with_nothing_pending(store: SQLStore) -> None:
    done, waiting = await _enqueue(store, 2)
    await store.queue.record_attempt(
        done, "r0@remote.example", delivered=True, permanent=False, error=None,
        next_attempt_at=None,
    )
    assert await store.queue.purge_finished() == 1
    assert [m.id for m in await store.queue.list()] == [waiting]
    assert await store.queue.purge_finished() == 0


async def test_released_claim_is_due_again_at_once(store: SQLStore) -> None:
    [queue_id] = await _enqueue(store, 1)
    now = utcnow()
    await store.queue.claim(now, LEASE)
    await store.queue.release(queue_id, ["r0@remote.example"], now)
    assert [m.id for m in await store.queue.claim(now, LEASE)] == [queue_id]
