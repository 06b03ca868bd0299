"""Queue contract: enqueue, due selection, attempts, retry, delay notice, delete."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import QueueId
from tidings.model.queue import RecipientState
from tidings.store import SQLStore
from tidings.store.services import BlobRef
from tidings.store.sql.types import utcnow


async def _blob(store: SQLStore, text: bytes = b"Subject: hi\r\n\r\nbody\r\n") -> BlobRef:
    return await store.blobs.put(text)


async def test_enqueue_stores_message_and_pending_recipients(store: SQLStore) -> None:
    blob = await _blob(store)
    queued = await store.queue.enqueue(
        "a@example.com",
        ["x@remote.example", "y@remote.example", "x@remote.example"],
        blob,
        dsn_ret="HDRS",
        dsn_envid="env1",
        notify=["SUCCESS,FAILURE", None, "NEVER"],
    )
    assert (queued.sender, queued.blob_id, queued.size) == ("a@example.com", blob.id, blob.size)
    assert (queued.dsn_ret, queued.dsn_envid, queued.delay_notified) == ("HDRS", "env1", False)
    assert [(r.address, r.state, r.attempts, r.notify) for r in queued.recipients] == [
        ("x@remote.example", RecipientState.PENDING, 0, "SUCCESS,FAILURE"),
        ("y@remote.example", RecipientState.PENDING, 0, None),
    ]
    assert await store.queue.get(queued.id) == queued


async def test_enqueue_without_recipients_raises_invalid_input(store: SQLStore) -> None:
    with pytest.raises(InvalidInput):
        await store.queue.enqueue("a@example.com", [], await _blob(store))


async def test_due_returns_messages_whose_pending_recipient_is_due(store: SQLStore) -> None:
    blob = await _blob(store)
    first = await store.queue.enqueue("a@example.com", ["x@r.example"], blob)
    second = await store.queue.enqueue("a@example.com", ["y@r.example"], blob)
    now = utcnow()
    assert [m.id for m in await store.queue.due(now)] == [first.id, second.id]
    later = now + timedelta(minutes=10)
    await store.queue.record_attempt(
        first.id,
        "x@r.example",
        delivered=False,
        permanent=False,
        error="451 try later",
        next_attempt_at=later,
    )
    assert [m.id for m in await store.queue.due(now)] == [second.id]
    assert [m.id for m in await store.queue.due(later)] == [first.id, second.id]
    assert [m.id for m in await store.queue.due(later, limit=1)] == [first.id]
    retried = await store.queue.get(first.id)
    assert retried.recipients[0].attempts == 1
    assert retried.recipients[0].last_error == "451 try later"
    assert retried.recipients[0].next_attempt_at == later


async def test_delivered_and_failed_recipients_are_no_longer_due(store: SQLStore) -> None:
    queued = await store.queue.enqueue(
        "a@example.com", ["x@r.example", "y@r.example"], await _blob(store)
    )
    await store.queue.record_attempt(
        queued.id, "x@r.example", delivered=True, permanent=False, error=None, next_attempt_at=None
    )
    assert [m.id for m in await store.queue.due(utcnow())] == [queued.id]
    await store.queue.record_attempt(
        queued.id,
        "y@r.example",
        delivered=False,
        permanent=True,
        error="550 no such user",
        next_attempt_at=None,
    )
    assert await store.queue.due(utcnow() + timedelta(days=30)) == []
    states = {r.address: r.state for r in (await store.queue.get(queued.id)).recipients}
    assert states == {"x@r.example": RecipientState.DELIVERED, "y@r.example": RecipientState.FAILED}


async def test_retry_now_makes_a_deferred_message_due(store: SQLStore) -> None:
    queued = await store.queue.enqueue("a@example.com", ["x@r.example"], await _blob(store))
    await store.queue.record_attempt(
        queued.id,
        "x@r.example",
        delivered=False,
        permanent=False,
        error="timeout",
        next_attempt_at=utcnow() + timedelta(hours=1),
    )
    assert await store.queue.due(utcnow()) == []
    await store.queue.retry_now(queued.id)
    assert [m.id for m in await store.queue.due(utcnow() + timedelta(seconds=1))] == [queued.id]


async def test_mark_delay_notified_is_remembered(store: SQLStore) -> None:
    queued = await store.queue.enqueue("a@example.com", ["x@r.example"], await _blob(store))
    await store.queue.mark_delay_notified(queued.id)
    assert (await store.queue.get(queued.id)).delay_notified


async def test_list_pages_oldest_first_and_delete_removes(store: SQLStore) -> None:
    blob = await _blob(store)
    ids = [(await store.queue.enqueue("", [f"r{i}@r.example"], blob)).id for i in range(3)]
    assert [m.id for m in await store.queue.list()] == ids
    assert [m.id for m in await store.queue.list(offset=1, limit=1)] == [ids[1]]
    await store.queue.delete(ids[1])
    assert [m.id for m in await store.queue.list()] == [ids[0], ids[2]]
    with pytest.raises(NotFound):
        await store.queue.get(ids[1])
    # The blob is shared with the Sent copy, so deleting the queue entry keeps it.
    assert await store.blobs.get(blob.id)


async def test_unknown_queue_ids_raise_not_found(store: SQLStore) -> None:
    missing = QueueId(9999)
    with pytest.raises(NotFound):
        await store.queue.delete(missing)
    with pytest.raises(NotFound):
        await store.queue.mark_delay_notified(missing)
    with pytest.raises(NotFound):
        await store.queue.retry_now(missing)
    with pytest.raises(NotFound):
        await store.queue.record_attempt(
            missing,
            "x@r.example",
            delivered=True,
            permanent=False,
            error=None,
            next_attempt_at=None,
        )


async def test_enqueue_with_an_overlong_address_raises_invalid_input(store: SQLStore) -> None:
    with pytest.raises(InvalidInput):
        await store.queue.enqueue("a@example.com", ["x" * 321], await _blob(store))
