"""The one authorization check: cross-account access, RFC 4314 ACLs, FULL_ACCESS, groups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.acl import ALL_RIGHTS, READ_ONLY, Right, parse_rights
from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.errors import InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import UID, BlobId, MailboxId, ModSeq
from tidings.model.mail import SEEN, Appended, FlagOperation, MailboxRole
from tidings.store import SQLStore
from tidings.store.services import NewMessage

Call = Callable[[], Awaitable[object]]


@dataclass
class Scene:
    """Alice's INBOX holds one message; bob is another user of the same domain."""

    box: MailboxId
    sent: MailboxId
    appended: Appended
    blob: BlobId
    message: NewMessage


async def _setup(store: SQLStore) -> tuple[Principal, Principal, Mailer, Scene]:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    mailer = Mailer(store)
    box = await inbox(store, alice)
    message = await mailer.new_message(box, headers("Secret", text="launch codes"))
    appended = await store.mail.append(alice, message)
    sent = (await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.SENT)).id
    return alice, bob, mailer, Scene(box, sent, appended, message.blob.id, message)


def _calls(
    store: SQLStore, actor: Principal, owner: Principal, ctx: Scene, bob_box: MailboxId
) -> dict[str, Call]:
    mail, a = store.mail, account(owner)
    box, sent, appended = ctx.box, ctx.sent, ctx.appended
    uid = appended.uid
    return {
        "list_mailboxes": lambda: mail.list_mailboxes(actor, a),
        "get_mailbox": lambda: mail.get_mailbox(actor, box),
        "find_mailbox": lambda: mail.find_mailbox(actor, a, "INBOX"),
        "mailbox_by_role": lambda: mail.mailbox_by_role(actor, a, MailboxRole.INBOX),
        "create_mailbox": lambda: mail.create_mailbox(actor, a, "Stolen"),
        "create_child": lambda: mail.create_mailbox(actor, a, "INBOX/Stolen"),
        "rename_mailbox": lambda: mail.rename_mailbox(actor, sent, "Renamed"),
        "delete_mailbox": lambda: mail.delete_mailbox(actor, sent),
        "set_subscribed": lambda: mail.set_subscribed(actor, box, False),
        "mailbox_status": lambda: mail.mailbox_status(actor, box),
        "my_rights": lambda: mail.my_rights(actor, box),
        "get_acl": lambda: mail.get_acl(actor, box),
        "set_acl": lambda: mail.set_acl(actor, box, "anyone", READ_ONLY),
        "append": lambda: mail.append(actor, ctx.message),
        "messages": lambda: mail.messages(actor, box),
        "get_email": lambda: mail.get_email(actor, appended.email_id),
        "read_blob": lambda: mail.read_blob(actor, ctx.blob),
        "store_flags": lambda: mail.store_flags(
            actor, box, [uid], FlagOperation.ADD, frozenset({"$X"})
        ),
        "copy_out": lambda: mail.copy(actor, box, [uid], bob_box),
        "copy_in": lambda: mail.copy(actor, bob_box, [UID(1)], box),
        "move_out": lambda: mail.move(actor, box, [uid], bob_box),
        "expunge": lambda: mail.expunge(actor, box),
        "search_text": lambda: mail.search_text(actor, box, "launch"),
        "quota": lambda: mail.quota(actor, a),
        "changes_since": lambda: mail.changes_since(actor, a, ModSeq(0)),
        "highest_modseq": lambda: mail.highest_modseq(actor, a),
    }


async def test_every_method_hides_another_account_as_not_found(store: SQLStore) -> None:
    alice, bob, mailer, ctx = await _setup(store)
    bob_box = await inbox(store, bob)
    await mailer.append(bob, bob_box)
    for name, call in _calls(store, bob, alice, ctx, bob_box).items():
        with pytest.raises(NotFound):
            await call()
            pytest.fail(f"{name} let bob into alice's account")
    assert await store.mail.accessible_accounts(bob) == []
    assert len(await store.mail.messages(alice, ctx.box)) == 1


async def test_lookup_right_alone_turns_not_found_into_permission_denied(
    store: SQLStore,
) -> None:
    alice, bob, mailer, ctx = await _setup(store)
    bob_box = await inbox(store, bob)
    await mailer.append(bob, bob_box)
    await store.mail.set_acl(alice, ctx.box, bob.name, frozenset({Right.LOOKUP}))
    allowed = {"list_mailboxes", "get_mailbox", "find_mailbox", "mailbox_by_role",
               "set_subscribed", "my_rights", "quota", "changes_since", "highest_modseq"}
    # Sent is still invisible to bob, and a blob is only served to a reader.
    hidden = {"rename_mailbox", "delete_mailbox", "read_blob"}
    for name, call in _calls(store, bob, alice, ctx, bob_box).items():
        if name in allowed:
            await call()
        elif name in hidden:
            with pytest.raises(NotFound):
                await call()
        else:
            with pytest.raises(PermissionDenied):
                await call()
                pytest.fail(f"{name} allowed with only the lookup right")
    assert await store.mail.my_rights(bob, ctx.box) == {Right.LOOKUP}
    assert [m.name for m in await store.mail.list_mailboxes(bob, account(alice))] == ["INBOX"]
    assert await store.mail.accessible_accounts(bob) == [(account(alice), alice.name)]


async def test_read_acl_lets_another_user_read_but_not_change(store: SQLStore) -> None:
    alice, bob, _mailer, ctx = await _setup(store)
    box = ctx.box
    await store.mail.set_acl(alice, box, bob.name, parse_rights("lr"))
    assert len(await store.mail.messages(bob, box)) == 1
    assert await store.mail.search_text(bob, box, "launch") == [1]
    email = await store.mail.get_email(bob, ctx.appended.email_id)
    assert email.envelope is not None and email.envelope.subject == "Secret"
    assert await store.mail.read_blob(bob, ctx.blob)
    with pytest.raises(PermissionDenied):
        await store.mail.store_flags(bob, box, [UID(1)], FlagOperation.ADD,
                                     frozenset({"$X"}))
    with pytest.raises(PermissionDenied):
        await store.mail.expunge(bob, box)
    # Removing the entry takes the access away again.
    await store.mail.set_acl(alice, box, bob.name, frozenset())
    with pytest.raises(NotFound):
        await store.mail.messages(bob, box)


async def test_store_flags_without_write_right_keeps_other_flags(store: SQLStore) -> None:
    alice, bob, _mailer, ctx = await _setup(store)
    box = ctx.box
    await store.mail.set_acl(alice, box, bob.name, parse_rights("lrs"))
    changed, _ = await store.mail.store_flags(
        bob, box, [UID(1)], FlagOperation.ADD, frozenset({SEEN, "$Junk"})
    )
    assert changed[0].flags == {SEEN}  # RFC 4314 §4: $Junk needs "w", silently ignored


async def test_acl_is_listed_and_only_administrators_may_change_it(store: SQLStore) -> None:
    alice, bob, _mailer, ctx = await _setup(store)
    box = ctx.box
    await store.mail.set_acl(alice, box, "anyone", frozenset({Right.LOOKUP}))
    await store.mail.set_acl(alice, box, bob.name.upper(), parse_rights("lrswa"))
    acl = dict(await store.mail.get_acl(alice, box))
    assert acl == {alice.name: ALL_RIGHTS, bob.name: parse_rights("lrswa"),
                   "anyone": {Right.LOOKUP}}
    carol = await make_principal(store, "carol")
    await store.mail.set_acl(bob, box, carol.name, READ_ONLY)
    assert len(await store.mail.messages(carol, box)) == 1
    with pytest.raises(NotFound):
        await store.mail.set_acl(alice, box, "nobody@example.test", READ_ONLY)
    with pytest.raises(InvalidInput):
        await store.mail.set_acl(alice, box, alice.name, READ_ONLY)


async def test_full_access_permission_grants_every_right(store: SQLStore) -> None:
    alice, bob, mailer, ctx = await _setup(store)
    bob_box = await inbox(store, bob)
    await mailer.append(bob, bob_box)
    await store.directory.grant(alice.id, bob.id, Permission.FULL_ACCESS)
    for name, call in _calls(store, bob, alice, ctx, bob_box).items():
        if name in {"move_out", "expunge", "delete_mailbox", "rename_mailbox"}:
            continue  # destructive; run below in a known order
        await call()
    assert await store.mail.my_rights(bob, ctx.box) == ALL_RIGHTS
    moved = await store.mail.move(bob, ctx.box, [UID(1)], bob_box)
    assert moved.target_uids
    await store.mail.delete_mailbox(bob, ctx.sent)
    assert (account(alice), alice.name) in await store.mail.accessible_accounts(bob)
    await store.directory.revoke(alice.id, bob.id, Permission.FULL_ACCESS)
    # What is left is the "anyone" entry bob set on INBOX while he had full access.
    assert [m.name for m in await store.mail.list_mailboxes(bob, account(alice))] == ["INBOX"]
    assert await store.mail.my_rights(bob, ctx.box) == READ_ONLY


async def test_rights_through_nested_groups(store: SQLStore) -> None:
    alice, bob, _mailer, ctx = await _setup(store)
    team = await make_principal(store, "team", PrincipalKind.GROUP)
    everyone = await make_principal(store, "everyone", PrincipalKind.GROUP)
    await store.directory.add_member(team.id, bob.id)
    await store.directory.add_member(everyone.id, team.id)
    await store.mail.set_acl(alice, ctx.box, everyone.name, READ_ONLY)
    assert len(await store.mail.messages(bob, ctx.box)) == 1
    owner = await make_principal(store, "boss")
    await store.directory.grant(owner.id, team.id, Permission.FULL_ACCESS)
    assert await store.mail.my_rights(bob, await inbox(store, owner)) == ALL_RIGHTS


async def test_changes_since_shows_a_reader_only_visible_mailboxes(store: SQLStore) -> None:
    alice, bob, mailer, ctx = await _setup(store)
    sent = ctx.sent
    await mailer.append(alice, sent)
    await store.mail.set_acl(alice, ctx.box, bob.name, READ_ONLY)
    batch = await store.mail.changes_since(bob, account(alice), ModSeq(0))
    collections = {c.collection_id for c in batch.changes if c.collection_id is not None}
    assert collections == {ctx.box}
    assert {c.object_id for c in batch.changes if c.collection_id is None} == {ctx.box}


async def test_insert_right_allows_append_and_drops_flags_without_their_rights(
    store: SQLStore,
) -> None:
    alice, bob, mailer, ctx = await _setup(store)
    await store.mail.set_acl(alice, ctx.box, bob.name, parse_rights("lis"))
    appended = await mailer.append(bob, ctx.box, keywords=frozenset({SEEN, "$Important"}))
    assert appended.uid == 2
    with pytest.raises(PermissionDenied):
        await store.mail.messages(bob, ctx.box)  # "i" without "r": post, but not read
    flags = {m.uid: m.flags for m in await store.mail.messages(alice, ctx.box)}
    assert flags[appended.uid] == frozenset()  # $Important needs "w"; bob's \Seen is his


async def test_move_across_accounts_leaves_a_tombstone_and_moves_the_bytes(
    store: SQLStore,
) -> None:
    alice, bob, _mailer, ctx = await _setup(store)
    bob_box = await inbox(store, bob)
    await store.mail.set_acl(bob, bob_box, alice.name, parse_rights("li"))
    start = await store.mail.highest_modseq(alice, account(alice))
    moved = await store.mail.move(alice, ctx.box, [ctx.appended.uid], bob_box)
    assert moved.target_uids == (1,)
    assert await store.mail.messages(alice, ctx.box) == []
    landed = await store.mail.messages(bob, bob_box)
    assert [m.blob_id for m in landed] == [ctx.blob]
    batch = await store.mail.changes_since(alice, account(alice), start)
    assert [(c.op.value, c.uid) for c in batch.changes] == [("destroyed", ctx.appended.uid)]
    assert (await store.mail.quota(alice, account(alice))).messages == 0
    assert (await store.mail.quota(bob, account(bob))).messages == 1
