"""Notifiers wake subscribers after the commit, never before; Redis fans out across nodes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from tests.backends.conftest import drop_schema, open_test_store
from tests.backends.helpers import account, headers, make_principal
from tests.conftest import require_redis
from tidings.model.ids import AccountId, ModSeq
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore
from tidings.store.changes import RedisNotifier
from tidings.store.sql import schema
from tidings.store.sql.database import Tx


async def _email_count(store: SQLStore) -> int:
    async def count(conn: object) -> int:
        from sqlalchemy.ext.asyncio import AsyncConnection

        assert isinstance(conn, AsyncConnection)
        return int((await conn.execute(select(func.count()).select_from(schema.emails)))
                   .scalar_one())

    return await store.db.read(count)


async def test_subscriber_wakes_after_the_delivery_commits_and_not_before(
    store: SQLStore, tmp_path: Path
) -> None:
    # A long batching window puts the delivery and a stalled writer in one group commit.
    backend = "sqlite" if store.db.is_sqlite else "postgres"
    (tmp_path / "slow").mkdir()
    slow, schema_name = await open_test_store(backend, tmp_path / "slow", max_wait_ms=300.0)
    try:
        alice = await make_principal(slow, "alice")
        subscription = slow.notifier.subscribe(account(alice))
        release = asyncio.Event()
        entered = asyncio.Event()

        async def stall(tx: Tx) -> None:
            entered.set()
            await release.wait()

        blob = await slow.blobs.put(b"hello")
        delivery = asyncio.ensure_future(
            slow.mail.deliver([(account(alice), MailboxRole.INBOX)], blob, headers())
        )
        await asyncio.sleep(0.01)
        staller = asyncio.ensure_future(slow.db.write(stall))
        await asyncio.wait_for(entered.wait(), 5)
        woken = asyncio.ensure_future(anext(subscription))
        await asyncio.sleep(0.1)
        assert not woken.done(), "woken before the commit"
        assert await _email_count(slow) == 0  # indeed not committed yet
        release.set()
        delivered = await asyncio.wait_for(delivery, 5)
        await staller
        assert await asyncio.wait_for(woken, 5) == delivered[0].appended.modseq
        await subscription.aclose()
    finally:
        await slow.close()
        if schema_name:
            await drop_schema(schema_name)


async def test_a_store_opened_with_redis_wakes_a_subscriber_on_another_node(
    store: SQLStore, tmp_path: Path
) -> None:
    url = require_redis()
    backend = "sqlite" if store.db.is_sqlite else "postgres"
    (tmp_path / "node").mkdir()
    node, schema_name = await open_test_store(backend, tmp_path / "node", redis_url=url)
    other_node = RedisNotifier(url)
    try:
        assert isinstance(node.notifier, RedisNotifier)
        await asyncio.wait_for(other_node.wait_ready(), 5)
        alice = await make_principal(node, "alice")
        remote = other_node.subscribe(account(alice))
        local = node.notifier.subscribe(account(alice))
        blob = await node.blobs.put(b"hello")
        delivered = await node.mail.deliver([(account(alice), MailboxRole.INBOX)], blob,
                                            headers())
        modseq = delivered[0].appended.modseq
        assert await asyncio.wait_for(anext(local), 5) == modseq
        assert await asyncio.wait_for(anext(remote), 5) == modseq
        await remote.aclose()
        await local.aclose()
    finally:
        await other_node.close()
        await node.close()
        if schema_name:
            await drop_schema(schema_name)


async def test_redis_notifier_delivers_only_the_subscribed_accounts_modseqs() -> None:
    url = require_redis()
    sender, receiver = RedisNotifier(url), RedisNotifier(url)
    try:
        await asyncio.wait_for(receiver.wait_ready(), 5)
        subscription = receiver.subscribe(AccountId(41))
        sender.publish(AccountId(42), ModSeq(9))
        sender.publish(AccountId(41), ModSeq(3))
        assert await asyncio.wait_for(anext(subscription), 5) == 3
        await subscription.aclose()
    finally:
        await sender.close()
        await receiver.close()
