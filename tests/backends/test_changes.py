"""The change log: changes since N with tombstones, truncation, pruning, concurrent UIDs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.backends.conftest import drop_schema, open_test_store
from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.errors import Conflict
from tidings.model.ids import ModSeq
from tidings.model.mail import DELETED, FlagOperation, MailboxRole
from tidings.store import SQLStore
from tidings.store.sql import schema
from tidings.store.sql.database import Tx


async def test_changes_since_lists_creations_updates_and_tombstones_in_order(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    a = account(alice)
    box = await inbox(store, alice)
    trash = (await store.mail.mailbox_by_role(alice, a, MailboxRole.TRASH)).id
    start = await store.mail.highest_modseq(alice, a)
    first = await Mailer(store).append(alice, box)
    await store.mail.store_flags(alice, box, [first.uid], FlagOperation.ADD,
                                 frozenset({DELETED}))
    moved = await store.mail.move(alice, box, [first.uid], trash)
    await store.mail.expunge(alice, trash)
    batch = await store.mail.changes_since(alice, a, start)
    seen = [(c.kind, c.op, c.collection_id, c.uid) for c in batch.changes]
    assert seen == [
        (ObjectKind.EMAIL, ChangeOp.CREATED, box, first.uid),
        (ObjectKind.EMAIL, ChangeOp.UPDATED, box, first.uid),
        (ObjectKind.EMAIL, ChangeOp.DESTROYED, box, first.uid),
        (ObjectKind.EMAIL, ChangeOp.CREATED, trash, moved.target_uids[0]),
        (ObjectKind.EMAIL, ChangeOp.DESTROYED, trash, moved.target_uids[0]),
    ]
    assert {c.object_id for c in batch.changes} == {first.email_id}
    modseqs = [c.modseq for c in batch.changes]
    assert modseqs == sorted(modseqs) and modseqs[2] == modseqs[3] == moved.modseq
    assert batch.since == start and batch.until == await store.mail.highest_modseq(alice, a)
    assert not batch.has_more
    empty = await store.mail.changes_since(alice, a, batch.until)
    assert empty.changes == () and empty.until == batch.until


async def test_mailbox_changes_are_logged_too(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    a = account(alice)
    initial = await store.mail.changes_since(alice, a, ModSeq(0))
    assert [c.op for c in initial.changes] == [ChangeOp.CREATED] * 6
    start = initial.until
    box = await store.mail.create_mailbox(alice, a, "Notes")
    await store.mail.rename_mailbox(alice, box.id, "Memos")
    await store.mail.delete_mailbox(alice, box.id)
    batch = await store.mail.changes_since(alice, a, start)
    assert [(c.kind, c.object_id, c.op) for c in batch.changes] == [
        (ObjectKind.MAILBOX, box.id, ChangeOp.CREATED),
        (ObjectKind.MAILBOX, box.id, ChangeOp.UPDATED),
        (ObjectKind.MAILBOX, box.id, ChangeOp.DESTROYED),
    ]


async def test_a_truncated_batch_never_splits_a_modseq(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    a = account(alice)
    box = await inbox(store, alice)
    mailer = Mailer(store)
    start = await store.mail.highest_modseq(alice, a)
    await store.mail.append_many(alice, [await mailer.new_message(box) for _ in range(3)])
    await mailer.append(alice, box)
    first = await store.mail.changes_since(alice, a, start, limit=2)
    assert first.has_more and len(first.changes) == 3  # the 3-message append is one modseq
    second = await store.mail.changes_since(alice, a, first.until, limit=2)
    assert not second.has_more and len(second.changes) == 1
    assert second.changes[0].modseq > first.until


async def test_changes_before_the_pruned_point_need_a_full_resync(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    a = account(alice)
    await Mailer(store).append(alice, await inbox(store, alice))
    highest = await store.mail.highest_modseq(alice, a)

    async def prune(tx: Tx) -> None:
        await tx.conn.execute(
            update(schema.accounts).where(schema.accounts.c.id == a).values(pruned_modseq=highest)
        )

    await store.db.write(prune)
    with pytest.raises(Conflict):
        await store.mail.changes_since(alice, a, ModSeq(highest - 1))
    assert (await store.mail.changes_since(alice, a, highest)).changes == ()


async def _concurrent_deliveries(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    blobs = [await store.blobs.put(f"message {i}".encode()) for i in range(20)]
    results = await asyncio.gather(*(
        store.mail.deliver([(account(alice), MailboxRole.INBOX)], blob, headers(f"m{i}"))
        for i, blob in enumerate(blobs)
    ))
    appended = sorted((r[0].appended for r in results), key=lambda x: x.uid)
    assert [x.uid for x in appended] == list(range(1, 21))
    modseqs = [x.modseq for x in appended]
    assert modseqs == sorted(modseqs) and len(set(modseqs)) == 20
    messages = await store.mail.messages(alice, await inbox(store, alice))
    assert [m.uid for m in messages] == list(range(1, 21))
    assert (await store.mail.mailbox_status(alice, messages[0].mailbox_id)).mailbox.uid_next == 21


async def test_concurrent_deliveries_get_distinct_increasing_uids(store: SQLStore) -> None:
    await _concurrent_deliveries(store)


async def test_concurrent_deliveries_without_group_commit_get_distinct_uids(
    store: SQLStore, tmp_path: Path,
) -> None:
    backend = "sqlite" if store.db.is_sqlite else "postgres"
    (tmp_path / "solo").mkdir()
    solo, schema_name = await open_test_store(backend, tmp_path / "solo", group_commit=False)
    try:
        await _concurrent_deliveries(solo)
    finally:
        await solo.close()
        if schema_name:
            await drop_schema(schema_name)
