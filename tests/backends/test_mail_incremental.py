"""Mail contract: incremental reads for a selected mailbox (messages_changed_since,
read_message_blobs)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.backends.helpers import Mailer, account, inbox, make_principal
from tidings.model.acl import parse_rights
from tidings.model.errors import Conflict, NotFound
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import DELETED, SEEN, FlagOperation
from tidings.store import SQLStore
from tidings.store.sql import schema


async def test_changed_since_returns_only_messages_whose_modseq_moved(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    for _ in range(4):
        await mailer.append(alice, box)
    mark = await store.mail.highest_modseq(alice, account(alice))
    await store.mail.store_flags(alice, box, [UID(2)], FlagOperation.ADD, frozenset({SEEN}))
    await mailer.append(alice, box)
    changes = await store.mail.messages_changed_since(alice, box, mark)
    assert [(m.uid, SEEN in m.flags) for m in changes.changed] == [(2, True), (5, False)]
    assert all(m.modseq > mark for m in changes.changed)
    assert changes.expunged == ()
    now = await store.mail.highest_modseq(alice, account(alice))
    assert changes.highest_modseq == now
    nothing = await store.mail.messages_changed_since(alice, box, now)
    assert (nothing.changed, nothing.expunged, nothing.highest_modseq) == ((), (), now)


async def test_changed_since_reports_expunged_uids_from_the_change_log(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    other = (await store.mail.create_mailbox(alice, account(alice), "Other")).id
    mailer = Mailer(store)
    for _ in range(5):
        await mailer.append(alice, box)
    mark = await store.mail.highest_modseq(alice, account(alice))
    await store.mail.store_flags(alice, box, [UID(1), UID(3)], FlagOperation.ADD,
                                 frozenset({DELETED}))
    await store.mail.expunge(alice, box)
    await store.mail.move(alice, box, [UID(4)], other)
    changes = await store.mail.messages_changed_since(alice, box, mark)
    assert changes.expunged == (1, 3, 4)
    assert changes.changed == ()  # 1 and 3 changed flags, but are gone now
    moved_in = await store.mail.messages_changed_since(alice, other, mark)
    assert [m.uid for m in moved_in.changed] == [1] and moved_in.expunged == ()


async def test_changed_since_shows_the_readers_own_seen(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    box = await inbox(store, alice)
    await store.mail.set_acl(alice, box, bob.name, parse_rights("lrs"))
    mailer = Mailer(store)
    await mailer.append(alice, box)
    mark = await store.mail.highest_modseq(bob, account(alice))
    await store.mail.store_flags(bob, box, [UID(1)], FlagOperation.ADD, frozenset({SEEN}))
    (for_bob,) = (await store.mail.messages_changed_since(bob, box, mark)).changed
    (for_alice,) = (await store.mail.messages_changed_since(alice, box, mark)).changed
    assert SEEN in for_bob.flags
    assert SEEN not in for_alice.flags


async def test_changed_since_before_the_pruned_log_raises_conflict(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    await Mailer(store).append(alice, box)

    async def prune(conn: object) -> None:
        await conn.conn.execute(  # type: ignore[attr-defined]
            update(schema.accounts).where(schema.accounts.c.id == alice.id)
            .values(pruned_modseq=5)
        )

    await store.db.write(prune)
    with pytest.raises(Conflict):
        await store.mail.messages_changed_since(alice, box, ModSeq(1))


async def test_changed_since_needs_read_access(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    box = await inbox(store, alice)
    with pytest.raises(NotFound):
        await store.mail.messages_changed_since(bob, box, ModSeq(0))


async def test_read_message_blobs_returns_the_bytes_of_inline_and_file_blobs(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    await mailer.append(alice, box)
    await mailer.append(alice, box, size=100_000)  # above inline_max_bytes: a file
    await mailer.append(alice, box)
    found = await store.mail.read_message_blobs(alice, box, [UID(3), UID(2), UID(9)])
    assert [uid for uid, _data in found] == [2, 3]
    big = dict(found)[UID(2)]
    assert len(big) == 100_000 and big.startswith(b"Subject: Message 2")
    assert dict(found)[UID(3)].startswith(b"Subject: Message 3")


async def test_read_message_blobs_needs_read_access(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    box = await inbox(store, alice)
    await Mailer(store).append(alice, box)
    with pytest.raises(NotFound):
        await store.mail.read_message_blobs(bob, box, [UID(1)])
