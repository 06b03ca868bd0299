"""After every kind of mail operation, `tidings check` finds the store consistent."""

from __future__ import annotations

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.acl import parse_rights
from tidings.model.directory import PrincipalKind
from tidings.model.mail import DELETED, FlagOperation, MailboxRole
from tidings.store import SQLStore
from tidings.store.check import check_store


async def test_counters_uids_and_modseqs_stay_consistent_through_a_workout(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    shared = await make_principal(store, "shared", PrincipalKind.SHARED)
    a = account(alice)
    box = await inbox(store, alice)
    shared_box = await inbox(store, shared)
    await store.mail.set_acl(shared, shared_box, alice.name, parse_rights("lrswite"))
    mailer = Mailer(store)
    appended = [await mailer.append(alice, box, headers(f"m{i}", text="hello world"), size=100)
                for i in range(4)]
    projects = await store.mail.create_mailbox(alice, a, "Projects/Alpha")
    await store.mail.copy(alice, box, [appended[0].uid, appended[1].uid], projects.id)
    await store.mail.move(alice, box, [appended[2].uid], projects.id)
    await store.mail.move(alice, box, [appended[3].uid], shared_box)  # across accounts
    in_shared = await store.mail.messages(alice, shared_box)
    await store.mail.copy(alice, shared_box, [in_shared[0].uid], box)
    in_projects = [m.uid for m in await store.mail.messages(alice, projects.id)]
    await store.mail.store_flags(alice, projects.id, in_projects, FlagOperation.ADD,
                                 frozenset({DELETED}))
    await store.mail.expunge(alice, projects.id)
    await store.mail.rename_mailbox(alice, box, "Old")
    await store.mail.deliver([(a, MailboxRole.INBOX), (account(shared), "INBOX")],
                             await store.blobs.put(b"delivered"), headers("d"))
    trash = await store.mail.mailbox_by_role(alice, a, MailboxRole.TRASH)
    await store.mail.copy(alice, (await store.mail.find_mailbox(alice, a, "Old")).id,
                          [appended[0].uid, appended[1].uid], trash.id)
    await store.mail.delete_mailbox(alice, trash.id)
    report = await check_store(store)
    assert report.errors == [], [p.describe() for p in report.errors]
    quota = await store.mail.quota(alice, a)
    assert quota.messages == 4  # Old: m0, m1 and the copy back; INBOX: the delivery
