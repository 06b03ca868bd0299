"""Per-user \\Seen: each reader of a shared mailbox (and each delegate) has their own."""

from __future__ import annotations

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.acl import parse_rights
from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.ids import MailboxId
from tidings.model.mail import FLAGGED, SEEN, FlagOperation, MailboxRole
from tidings.store import SQLStore


async def _flags(store: SQLStore, actor: Principal, box: MailboxId) -> list[frozenset[str]]:
    return [m.flags for m in await store.mail.messages(actor, box)]


async def test_each_reader_of_a_shared_mailbox_has_their_own_seen(store: SQLStore) -> None:
    support = await make_principal(store, "support", PrincipalKind.SHARED)
    bob = await make_principal(store, "bob")
    carol = await make_principal(store, "carol")
    for reader in (bob, carol):
        await store.directory.grant(support.id, reader.id, Permission.FULL_ACCESS)
    delivered = await store.mail.deliver(
        [(account(support), MailboxRole.INBOX)], await store.blobs.put(b"hi"), headers()
    )
    box = delivered[0].appended.mailbox_id
    uid = delivered[0].appended.uid
    changed, _ = await store.mail.store_flags(bob, box, [uid], FlagOperation.ADD,
                                              frozenset({SEEN, FLAGGED}))
    assert changed[0].flags == {SEEN, FLAGGED}
    assert await _flags(store, bob, box) == [{SEEN, FLAGGED}]
    assert await _flags(store, carol, box) == [{FLAGGED}]  # \Flagged is shared
    assert await _flags(store, support, box) == [{FLAGGED}]
    assert (await store.mail.mailbox_status(bob, box)).unseen == 0
    assert (await store.mail.mailbox_status(carol, box)).unseen == 1
    email_id = delivered[0].appended.email_id
    assert SEEN in (await store.mail.get_email(bob, email_id)).keywords
    assert SEEN not in (await store.mail.get_email(carol, email_id)).keywords
    await store.mail.store_flags(bob, box, [uid], FlagOperation.REMOVE, frozenset({SEEN}))
    assert await _flags(store, bob, box) == [{FLAGGED}]


async def test_per_user_seen_off_shares_one_seen_state(store: SQLStore) -> None:
    support = await make_principal(store, "support", PrincipalKind.SHARED)
    bob = await make_principal(store, "bob")
    carol = await make_principal(store, "carol")
    await store.directory.update_principal(support.id, per_user_seen=False)
    box = await inbox(store, support)
    for reader in (bob, carol):
        await store.mail.set_acl(support, box, reader.name, parse_rights("lrs"))
    appended = await Mailer(store).append(support, box)
    await store.mail.store_flags(bob, box, [appended.uid], FlagOperation.ADD, frozenset({SEEN}))
    assert await _flags(store, carol, box) == [{SEEN}]
    assert await _flags(store, support, box) == [{SEEN}]


async def test_a_delegate_reading_a_users_mailbox_does_not_mark_it_read_for_the_owner(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    box = await inbox(store, alice)
    await store.mail.set_acl(alice, box, bob.name, parse_rights("lrsi"))
    appended = await Mailer(store).append(alice, box)
    await store.mail.store_flags(bob, box, [appended.uid], FlagOperation.ADD, frozenset({SEEN}))
    assert await _flags(store, alice, box) == [frozenset()]
    assert await _flags(store, bob, box) == [{SEEN}]
    # The owner's own \Seen is the email's keyword, and a delegate does not see it.
    await store.mail.store_flags(alice, box, [appended.uid], FlagOperation.ADD, frozenset({SEEN}))
    await store.mail.store_flags(bob, box, [appended.uid], FlagOperation.REMOVE,
                                 frozenset({SEEN}))
    assert await _flags(store, alice, box) == [{SEEN}]
    assert await _flags(store, bob, box) == [frozenset()]
    # A delegate appending with \Seen marks it read for themselves only.
    mine = await Mailer(store).append(bob, box, keywords=frozenset({SEEN}))
    seen_by_bob = {m.uid: m.flags for m in await store.mail.messages(bob, box)}
    seen_by_alice = {m.uid: m.flags for m in await store.mail.messages(alice, box)}
    assert seen_by_bob[mine.uid] == {SEEN} and seen_by_alice[mine.uid] == frozenset()


async def test_copy_out_of_a_shared_mailbox_keeps_the_readers_seen(store: SQLStore) -> None:
    support = await make_principal(store, "support", PrincipalKind.SHARED)
    bob = await make_principal(store, "bob")
    await store.directory.grant(support.id, bob.id, Permission.FULL_ACCESS)
    box = await inbox(store, support)
    appended = await Mailer(store).append(support, box)
    await store.mail.store_flags(bob, box, [appended.uid], FlagOperation.ADD, frozenset({SEEN}))
    mine = await inbox(store, bob)
    await store.mail.copy(bob, box, [appended.uid], mine)
    assert await _flags(store, bob, mine) == [{SEEN}]
