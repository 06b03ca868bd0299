"""The batched write path of `place`: rows written together must look as if written one by one."""

from __future__ import annotations

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.ids import ModSeq
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore


async def test_append_many_reply_joins_the_thread_of_an_email_in_the_same_batch(
    store: SQLStore,
) -> None:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    root = await mailer.new_message(box, headers("Plan", message_id="<root@x>"))
    other = await mailer.new_message(box, headers("Other", message_id="<other@x>"))
    reply = await mailer.new_message(
        box, headers("Re: Plan", message_id="<r1@x>", in_reply_to="<root@x>")
    )
    appended = await store.mail.append_many(alice, [root, other, reply])
    threads = {m.email_id: m.thread_id for m in await store.mail.messages(alice, box)}
    root_id, other_id, reply_id = (a.email_id for a in appended)
    assert threads == {root_id: root_id, other_id: other_id, reply_id: root_id}


async def test_delivery_to_many_accounts_indexes_and_logs_every_copy(store: SQLStore) -> None:
    readers = [await make_principal(store, name) for name in ("alice", "bob", "carol")]
    before = {r.id: await store.mail.highest_modseq(r, account(r)) for r in readers}
    blob = await store.blobs.put(b"Subject: Minutes\r\n\r\nquarterly numbers\r\n")
    delivered = await store.mail.deliver(
        [(account(r), MailboxRole.INBOX) for r in readers],
        blob,
        headers("Minutes", text="The quarterly numbers are in", message_id="<m@x>"),
    )
    assert [d.account_id for d in delivered] == [account(r) for r in readers]
    assert len({d.appended.email_id for d in delivered}) == 3
    for reader, copy in zip(readers, delivered, strict=True):
        box = copy.appended.mailbox_id
        assert await store.mail.search_text(reader, box, "QUARTERLY numbers") == [copy.appended.uid]
        assert await store.mail.search_text(reader, box, "minutes", field="subject") == [1]
        [message] = await store.mail.messages(reader, box)
        assert message.thread_id == copy.appended.email_id
        batch = await store.mail.changes_since(reader, account(reader), ModSeq(before[reader.id]))
        assert [(c.kind, c.op, c.object_id, c.collection_id, c.uid) for c in batch.changes] == [
            (ObjectKind.EMAIL, ChangeOp.CREATED, copy.appended.email_id, box, 1)
        ]
        assert batch.changes[0].modseq == copy.appended.modseq
