"""Quota accounting (RFC 9208 STORAGE in bytes) and delivery into several accounts."""

from __future__ import annotations

import pytest

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.errors import QuotaExceeded
from tidings.model.mail import DELETED, MailboxRole
from tidings.store import SQLStore


async def test_counters_follow_appends_and_over_quota_is_refused(store: SQLStore) -> None:
    alice = await make_principal(store, "alice", quota_bytes=1000)
    box = await inbox(store, alice)
    mailer = Mailer(store)
    await mailer.append(alice, box, size=600)
    quota = await store.mail.quota(alice, account(alice))
    assert (quota.used_bytes, quota.limit_bytes, quota.messages) == (600, 1000, 1)
    with pytest.raises(QuotaExceeded):
        await mailer.append(alice, box, size=600)
    with pytest.raises(QuotaExceeded):
        await store.mail.copy(alice, box, [(await store.mail.messages(alice, box))[0].uid], box)
    assert (await store.mail.quota(alice, account(alice))).used_bytes == 600
    assert len(await store.mail.messages(alice, box)) == 1
    await mailer.append(alice, box, size=400, keywords=frozenset({DELETED}))  # exactly full
    await store.mail.expunge(alice, box)
    quota = await store.mail.quota(alice, account(alice))
    assert (quota.used_bytes, quota.messages) == (600, 1)


async def test_deliver_skips_an_account_over_quota_and_delivers_the_rest(
    store: SQLStore,
) -> None:
    full = await make_principal(store, "full", quota_bytes=10)
    bob = await make_principal(store, "bob")
    blob = await store.blobs.put(b"x" * 100)
    delivered = await store.mail.deliver(
        [(account(full), MailboxRole.INBOX), (account(bob), MailboxRole.INBOX)], blob, headers()
    )
    assert [d.account_id for d in delivered] == [account(bob)]
    assert (await store.mail.quota(full, account(full))).messages == 0


async def test_deliver_to_several_accounts_is_one_commit(store: SQLStore) -> None:
    users = [await make_principal(store, name) for name in ("a", "b", "c")]
    blob = await store.blobs.put(b"Subject: all\r\n\r\nhello\r\n")
    before = store.db.commits
    delivered = await store.mail.deliver(
        [(account(u), MailboxRole.INBOX) for u in users], blob, headers("all")
    )
    assert store.db.commits == before + 1
    assert [d.account_id for d in delivered] == [account(u) for u in users]
    for user, copy in zip(users, delivered, strict=True):
        messages = await store.mail.messages(user, await inbox(store, user))
        assert [(m.uid, m.blob_id) for m in messages] == [(copy.appended.uid, blob.id)]


async def test_deliver_uses_the_named_mailbox_and_falls_back_to_inbox(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    lists = await store.mail.create_mailbox(alice, account(alice), "Lists/Python")
    blob = await store.blobs.put(b"hello")
    delivered = await store.mail.deliver(
        [(account(alice), "Lists/Python"), (account(alice), "No/Such"),
         (account(alice), MailboxRole.JUNK)],
        blob, headers(),
    )
    junk = await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.JUNK)
    assert [d.appended.mailbox_id for d in delivered] == [
        lists.id, await inbox(store, alice), junk.id
    ]
    assert len({d.appended.modseq for d in delivered}) == 1
    assert (await store.mail.quota(alice, account(alice))).messages == 3
