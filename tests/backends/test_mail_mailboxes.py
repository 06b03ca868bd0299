"""Mail contract: the mailbox tree, roles, rename (INBOX too), delete, subscribe, status."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.backends.conftest import drop_schema, open_test_store
from tests.backends.helpers import Mailer, account, inbox, make_principal
from tidings.model.errors import Conflict, InvalidInput, NotFound
from tidings.model.mail import DELETED, SEEN, MailboxRole
from tidings.store import SQLStore


async def test_new_account_has_default_mailboxes_with_roles(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    boxes = await store.mail.list_mailboxes(alice, account(alice))
    assert [b.name for b in boxes] == ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"]
    roles = {b.name: b.role for b in boxes}
    assert roles["INBOX"] is MailboxRole.INBOX and roles["Sent"] is MailboxRole.SENT
    assert all(b.uid_validity > 0 and b.uid_next == 1 for b in boxes)


async def test_create_makes_missing_parents_and_refuses_duplicates(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    created = await store.mail.create_mailbox(alice, account(alice), "Projects/2026/Q1/")
    assert created.name == "Projects/2026/Q1"
    parent = await store.mail.find_mailbox(alice, account(alice), "Projects/2026")
    top = await store.mail.find_mailbox(alice, account(alice), "Projects")
    assert created.parent_id == parent.id and parent.parent_id == top.id
    assert top.parent_id is None
    with pytest.raises(Conflict):
        await store.mail.create_mailbox(alice, account(alice), "Projects/2026")
    with pytest.raises(Conflict):
        await store.mail.create_mailbox(alice, account(alice), "inbox")
    with pytest.raises(Conflict):
        await store.mail.create_mailbox(alice, account(alice), "Bin", MailboxRole.TRASH)
    for bad in ["", "a//b", "/a", "a\nb"]:
        with pytest.raises(InvalidInput):
            await store.mail.create_mailbox(alice, account(alice), bad)


async def test_inbox_name_is_case_insensitive(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    found = await store.mail.find_mailbox(alice, account(alice), "iNbOx")
    assert found.name == "INBOX"
    child = await store.mail.create_mailbox(alice, account(alice), "inbox/Sub")
    assert child.name == "INBOX/Sub" and child.parent_id == found.id
    with pytest.raises(NotFound):
        await store.mail.find_mailbox(alice, account(alice), "Nope")


async def test_rename_moves_children_with_the_mailbox(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    a = account(alice)
    await store.mail.create_mailbox(alice, a, "Work/Clients/Acme")
    work = await store.mail.find_mailbox(alice, a, "Work")
    renamed = await store.mail.rename_mailbox(alice, work.id, "Archive/Old Work")
    assert renamed.id == work.id and renamed.name == "Archive/Old Work"
    assert renamed.parent_id == (await store.mail.find_mailbox(alice, a, "Archive")).id
    names = {b.name for b in await store.mail.list_mailboxes(alice, a)}
    assert {"Archive/Old Work/Clients", "Archive/Old Work/Clients/Acme"} <= names
    assert not any(n.startswith("Work") for n in names)
    with pytest.raises(Conflict):
        await store.mail.rename_mailbox(alice, work.id, "Sent")
    with pytest.raises(InvalidInput):
        await store.mail.rename_mailbox(alice, work.id, "Archive/Old Work/Clients/Below")


async def test_renaming_inbox_moves_its_messages_and_leaves_it_empty(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    first = await mailer.append(alice, box)
    second = await mailer.append(alice, box)
    old = await store.mail.rename_mailbox(alice, box, "Old Inbox")
    assert old.id != box and old.name == "Old Inbox"
    assert await store.mail.messages(alice, box) == []
    moved = await store.mail.messages(alice, old.id)
    assert [(m.uid, m.email_id) for m in moved] == [
        (first.uid, first.email_id), (second.uid, second.email_id)
    ]
    # Neither mailbox will hand out those UIDs again.
    assert (await store.mail.get_mailbox(alice, box)).uid_next == 3
    assert old.uid_next == 3
    assert (await mailer.append(alice, box)).uid == 3


async def test_delete_refuses_inbox_and_parents_and_removes_messages(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    a = account(alice)
    with pytest.raises(Conflict):
        await store.mail.delete_mailbox(alice, await inbox(store, alice))
    child = await store.mail.create_mailbox(alice, a, "Lists/Python")
    lists = await store.mail.find_mailbox(alice, a, "Lists")
    with pytest.raises(Conflict):
        await store.mail.delete_mailbox(alice, lists.id)
    await Mailer(store).append(alice, child.id, size=300)
    assert (await store.mail.quota(alice, a)).messages == 1
    await store.mail.delete_mailbox(alice, child.id)
    await store.mail.delete_mailbox(alice, lists.id)
    with pytest.raises(NotFound):
        await store.mail.get_mailbox(alice, child.id)
    quota = await store.mail.quota(alice, a)
    assert (quota.messages, quota.used_bytes) == (0, 0)


async def test_subscribe_and_unsubscribe(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await store.mail.create_mailbox(alice, account(alice), "News")
    await store.mail.set_subscribed(alice, box.id, False)
    assert not (await store.mail.get_mailbox(alice, box.id)).subscribed
    await store.mail.set_subscribed(alice, box.id, True)
    assert (await store.mail.get_mailbox(alice, box.id)).subscribed


async def test_status_counts_messages_unseen_size_and_deleted(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    await mailer.append(alice, box, keywords=frozenset({SEEN}), size=100)
    await mailer.append(alice, box, keywords=frozenset({DELETED}), size=200)
    await mailer.append(alice, box, size=300)
    status = await store.mail.mailbox_status(alice, box)
    assert (status.messages, status.unseen, status.size, status.deleted) == (3, 2, 600, 1)


async def test_mailbox_by_role_finds_special_use_mailboxes(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    drafts = await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.DRAFTS)
    assert drafts.name == "Drafts"
    with pytest.raises(NotFound):
        await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.FLAGGED)
    flagged = await store.mail.create_mailbox(alice, account(alice), "Starred",
                                              MailboxRole.FLAGGED)
    assert (await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.FLAGGED)).id \
        == flagged.id


async def test_concurrent_creates_of_one_name_give_one_mailbox_and_conflicts(
    store: SQLStore, tmp_path: Path,
) -> None:
    # Without group commit, PostgreSQL runs these in separate transactions at once.
    backend = "sqlite" if store.db.is_sqlite else "postgres"
    (tmp_path / "solo").mkdir()
    solo, schema_name = await open_test_store(backend, tmp_path / "solo", group_commit=False)
    try:
        alice = await make_principal(solo, "alice")
        results = await asyncio.gather(
            *(solo.mail.create_mailbox(alice, account(alice), "Race/Box") for _ in range(8)),
            return_exceptions=True,
        )
        created = [r for r in results if not isinstance(r, BaseException)]
        assert len(created) == 1
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    finally:
        await solo.close()
        if schema_name:
            await drop_schema(schema_name)
