"""Mail contract: append, fetch, flags, copy, move, expunge and their UIDs."""

from __future__ import annotations

import pytest

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import ANSWERED, DELETED, FLAGGED, SEEN, FlagOperation, MailboxRole
from tidings.store import SQLStore


async def test_append_assigns_ascending_uids_and_fetch_returns_them_in_order(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    first = await mailer.append(alice, box, keywords=frozenset({"\\seen", "$Label"}))
    second = await mailer.append(alice, box)
    assert (first.uid, second.uid) == (1, 2)
    assert second.modseq > first.modseq
    messages = await store.mail.messages(alice, box)
    assert [m.uid for m in messages] == [1, 2]
    assert messages[0].flags == {SEEN, "$Label"}  # system flags normalised
    assert messages[1].flags == frozenset()
    assert messages[0].email_id == first.email_id
    assert [m.uid for m in await store.mail.messages(alice, box, since_uid=UID(1))] == [2]
    status = await store.mail.mailbox_status(alice, box)
    assert (status.messages, status.unseen, status.deleted) == (2, 1, 0)
    assert status.mailbox.uid_next == 3


async def test_append_many_is_one_operation_with_one_modseq(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    batch = [await mailer.new_message(box) for _ in range(3)]
    appended = await store.mail.append_many(alice, batch)
    assert [a.uid for a in appended] == [1, 2, 3]
    assert len({a.modseq for a in appended}) == 1


async def test_append_many_is_all_or_nothing(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    mailer = Mailer(store)
    good = await mailer.new_message(await inbox(store, alice))
    foreign = await mailer.new_message(await inbox(store, bob))
    with pytest.raises(NotFound):
        await store.mail.append_many(alice, [good, foreign])
    assert await store.mail.messages(alice, await inbox(store, alice)) == []


async def test_get_email_returns_envelope_and_read_blob_returns_bytes(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    message = await Mailer(store).new_message(box, headers("Lunch", message_id="<m1@x>"))
    appended = await store.mail.append(alice, message)
    email = await store.mail.get_email(alice, appended.email_id)
    assert email.envelope is not None
    assert (email.envelope.subject, email.envelope.message_id) == ("Lunch", "<m1@x>")
    assert email.blob_id == message.blob.id and email.size == message.blob.size
    assert (await store.mail.read_blob(alice, message.blob.id)).startswith(b"Subject: Lunch")


async def test_store_flags_add_remove_replace_and_return_changed_messages(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    a = await mailer.append(alice, box)
    b = await mailer.append(alice, box, keywords=frozenset({SEEN}))
    changed, failed = await store.mail.store_flags(
        alice, box, [a.uid, b.uid], FlagOperation.ADD, frozenset({SEEN})
    )
    assert [m.uid for m in changed] == [a.uid]  # b already had \Seen
    assert failed == []
    assert changed[0].flags == {SEEN} and changed[0].modseq > b.modseq
    changed, _ = await store.mail.store_flags(
        alice, box, [a.uid, b.uid], FlagOperation.REPLACE, frozenset({FLAGGED, "$Work"})
    )
    assert {m.uid: m.flags for m in changed} == {
        a.uid: {FLAGGED, "$Work"}, b.uid: {FLAGGED, "$Work"}
    }
    assert len({m.modseq for m in changed}) == 1
    changed, _ = await store.mail.store_flags(
        alice, box, [b.uid], FlagOperation.REMOVE, frozenset({"$Work"})
    )
    messages = {m.uid: m for m in await store.mail.messages(alice, box)}
    assert messages[b.uid].flags == {FLAGGED}
    assert messages[b.uid].modseq == changed[0].modseq
    mailbox = await store.mail.get_mailbox(alice, box)
    assert mailbox.highest_modseq == changed[0].modseq


async def test_store_flags_unchangedsince_reports_modified_uids_and_skips_them(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    a = await mailer.append(alice, box)
    b = await mailer.append(alice, box)
    # b's modseq is newer than a's; UNCHANGEDSINCE a.modseq fails for b only (RFC 7162).
    changed, failed = await store.mail.store_flags(
        alice, box, [a.uid, b.uid], FlagOperation.ADD, frozenset({ANSWERED}),
        unchanged_since=a.modseq,
    )
    assert [m.uid for m in changed] == [a.uid]
    assert failed == [b.uid]
    flags = {m.uid: m.flags for m in await store.mail.messages(alice, box)}
    assert flags == {a.uid: {ANSWERED}, b.uid: frozenset()}


async def test_copy_creates_new_emails_with_new_uids_sharing_the_blob(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    archive = (await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.ARCHIVE)).id
    mailer = Mailer(store)
    a = await mailer.append(alice, box, keywords=frozenset({FLAGGED}))
    b = await mailer.append(alice, box)
    await mailer.append(alice, archive)  # the archive's UID 1
    moved = await store.mail.copy(alice, box, [b.uid, a.uid, UID(99)], archive)
    assert moved.source_uids == (a.uid, b.uid)
    assert moved.target_uids == (2, 3)
    target = {m.uid: m for m in await store.mail.messages(alice, archive)}
    source = {m.uid: m for m in await store.mail.messages(alice, box)}
    assert target[UID(2)].email_id != a.email_id
    assert target[UID(2)].blob_id == source[a.uid].blob_id
    assert target[UID(2)].flags == {FLAGGED}
    assert target[UID(2)].thread_id == source[a.uid].thread_id
    assert len(source) == 2
    quota = await store.mail.quota(alice, account(alice))
    assert quota.messages == 5


async def test_move_reassigns_uids_in_target_and_empties_source(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    trash = (await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.TRASH)).id
    mailer = Mailer(store)
    a = await mailer.append(alice, box)
    b = await mailer.append(alice, box)
    moved = await store.mail.move(alice, box, [a.uid, b.uid], trash)
    assert moved.source_uids == (1, 2) and moved.target_uids == (1, 2)
    assert await store.mail.messages(alice, box) == []
    in_trash = await store.mail.messages(alice, trash)
    assert [m.email_id for m in in_trash] == [a.email_id, b.email_id]
    assert all(m.modseq == moved.modseq for m in in_trash)
    # Moving back gives new UIDs: UIDs are never reused in a mailbox.
    back = await store.mail.move(alice, trash, [UID(1)], box)
    assert back.target_uids == (3,)
    assert (await store.mail.quota(alice, account(alice))).messages == 2


async def test_expunge_removes_only_deleted_messages_and_updates_counters(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    a = await mailer.append(alice, box, keywords=frozenset({DELETED}), size=1000)
    b = await mailer.append(alice, box, size=500)
    c = await mailer.append(alice, box, keywords=frozenset({DELETED}), size=200)
    before = await store.mail.quota(alice, account(alice))
    assert await store.mail.expunge(alice, box, [c.uid, b.uid]) == [c.uid]
    assert await store.mail.expunge(alice, box) == [a.uid]
    assert await store.mail.expunge(alice, box) == []
    assert [m.uid for m in await store.mail.messages(alice, box)] == [b.uid]
    after = await store.mail.quota(alice, account(alice))
    assert after.messages == before.messages - 2
    assert after.used_bytes == before.used_bytes - 1200
    with pytest.raises(NotFound):
        await store.mail.get_email(alice, a.email_id)
    mailbox = await store.mail.get_mailbox(alice, box)
    assert mailbox.highest_modseq > b.modseq
    assert mailbox.uid_next == 4


async def test_modseq_strictly_increases_per_account_across_operations(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    seen: list[ModSeq] = [await store.mail.highest_modseq(alice, account(alice))]
    a = await mailer.append(alice, box)
    seen.append(await store.mail.highest_modseq(alice, account(alice)))
    await store.mail.store_flags(alice, box, [a.uid], FlagOperation.ADD, frozenset({DELETED}))
    seen.append(await store.mail.highest_modseq(alice, account(alice)))
    await store.mail.expunge(alice, box)
    seen.append(await store.mail.highest_modseq(alice, account(alice)))
    await store.mail.create_mailbox(alice, account(alice), "Projects")
    seen.append(await store.mail.highest_modseq(alice, account(alice)))
    assert seen == sorted(set(seen))


async def test_thread_id_follows_references_not_subject(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    root = await mailer.append(alice, box, headers("Plan", message_id="<root@x>"))
    reply = await mailer.append(
        alice, box, headers("Re: Plan", message_id="<r1@x>", in_reply_to="<root@x>")
    )
    deep = await mailer.append(
        alice, box, headers("Re: Re: Plan", message_id="<r2@x>", references="<root@x> <r1@x>")
    )
    same_subject = await mailer.append(alice, box, headers("Plan", message_id="<other@x>"))
    threads = {m.email_id: m.thread_id for m in await store.mail.messages(alice, box)}
    assert threads[root.email_id] == root.email_id
    assert threads[reply.email_id] == threads[deep.email_id] == root.email_id
    assert threads[same_subject.email_id] == same_subject.email_id


async def test_search_text_rejects_unknown_fields(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    with pytest.raises(InvalidInput):
        await store.mail.search_text(alice, await inbox(store, alice), "x", field="header")


async def test_email_and_mailbox_ids_are_never_reused(store: SQLStore) -> None:
    # JMAP ids (RFC 8620 §1.2) and the change log's object ids must not come back.
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    first = await mailer.append(alice, box, keywords=frozenset({DELETED}))
    await store.mail.expunge(alice, box)
    second = await mailer.append(alice, box)
    folder = await store.mail.create_mailbox(alice, account(alice), "Temp")
    await store.mail.delete_mailbox(alice, folder.id)
    again = await store.mail.create_mailbox(alice, account(alice), "Temp")
    reused = second.email_id == first.email_id or again.id == folder.id
    if reused and store.db.is_sqlite:
        pytest.xfail("SQLite reuses the highest rowid; schema needs sqlite_autoincrement")
    assert not reused
