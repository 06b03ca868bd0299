"""`check_store`: finds corrupted blobs, stale counters and UIDNEXT; repair fixes what it can."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId, BlobId
from tidings.store import SQLStore
from tidings.store.blobs import FileBlobBackend
from tidings.store.check import ProblemKind, Severity, check_store
from tidings.store.sql import accounts, schema
from tidings.store.sql.database import Tx
from tidings.store.sql.types import utcnow


async def _user(store: SQLStore) -> AccountId:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "a@example.com")
    return AccountId(user.id)


async def _inbox(store: SQLStore, account: AccountId) -> int:
    async def _read(conn: AsyncConnection) -> int:
        mbx = schema.mailboxes
        query = select(mbx.c.id).where(mbx.c.account_id == account, mbx.c.role == "inbox")
        return int((await conn.execute(query)).scalar_one())

    return await store.db.read(_read)


async def _add_message(store: SQLStore, account: AccountId, data: bytes) -> BlobId:
    """A consistent message row set, written the way the mail service keeps them."""
    blob = await store.blobs.put(data)
    mailbox = await _inbox(store, account)

    async def _write(tx: Tx) -> None:
        modseq = await accounts.next_modseq(tx, account)
        mbx, acc = schema.mailboxes, schema.accounts
        uid = (
            await tx.conn.execute(select(mbx.c.uid_next).where(mbx.c.id == mailbox))
        ).scalar_one()
        email_id = (
            await tx.conn.execute(
                schema.emails.insert()
                .values(
                    account_id=account,
                    blob_id=blob.id,
                    size=blob.size,
                    received_at=utcnow(),
                    thread_id=1,
                    keywords="[]",
                )
                .returning(schema.emails.c.id)
            )
        ).scalar_one()
        await tx.conn.execute(
            schema.mailbox_messages.insert().values(
                mailbox_id=mailbox, uid=uid, email_id=email_id, modseq=modseq, saved_at=utcnow()
            )
        )
        await tx.conn.execute(
            update(mbx).where(mbx.c.id == mailbox).values(uid_next=uid + 1, highest_modseq=modseq)
        )
        await tx.conn.execute(
            update(acc)
            .where(acc.c.id == account)
            .values(used_bytes=acc.c.used_bytes + blob.size, message_count=acc.c.message_count + 1)
        )
        await accounts.record_change(
            tx.conn,
            account,
            modseq,
            ObjectKind.EMAIL,
            email_id,
            ChangeOp.CREATED,
            collection_id=mailbox,
            uid=uid,
        )

    await store.db.write(_write)
    return blob.id


async def _execute(store: SQLStore, statement: object) -> None:
    async def _write(tx: Tx) -> None:
        await tx.conn.execute(statement)  # type: ignore[call-overload]

    await store.db.write(_write)


async def test_a_consistent_store_has_no_problems(store: SQLStore) -> None:
    account = await _user(store)
    await _add_message(store, account, b"Subject: one\r\n\r\nsmall\r\n")
    await _add_message(store, account, b"Subject: two\r\n\r\n" + b"x" * 100_000)
    seen: list[tuple[int, int]] = []
    report = await check_store(store, progress=lambda done, total: seen.append((done, total)))
    assert report.problems == []
    assert report.ok and report.blobs_checked == 2 and report.accounts_checked == 1
    assert seen and seen[-1][0] == seen[-1][1]


async def test_a_corrupted_file_blob_is_reported_and_not_repairable(store: SQLStore) -> None:
    account = await _user(store)
    blob_id = await _add_message(store, account, b"Subject: big\r\n\r\n" + b"y" * 100_000)
    backend = store.blobs.backend
    assert isinstance(backend, FileBlobBackend)
    backend.path(blob_id).write_bytes(b"flipped bits")
    report = await check_store(store, repair=True)
    assert [(p.kind, p.subject, p.repaired) for p in report.problems] == [
        (ProblemKind.BLOB_CORRUPT, f"blob {blob_id}", False)
    ]
    assert not report.ok


async def test_a_missing_blob_file_is_reported(store: SQLStore) -> None:
    account = await _user(store)
    blob_id = await _add_message(store, account, b"Subject: big\r\n\r\n" + b"z" * 100_000)
    backend = store.blobs.backend
    assert isinstance(backend, FileBlobBackend)
    backend.path(blob_id).unlink()
    report = await check_store(store)
    assert [p.kind for p in report.errors] == [ProblemKind.BLOB_MISSING]


async def test_a_wrong_uid_next_is_reported_and_repaired(store: SQLStore) -> None:
    account = await _user(store)
    for i in range(3):
        await _add_message(store, account, f"Subject: {i}\r\n\r\n".encode())
    inbox = await _inbox(store, account)
    mbx = schema.mailboxes
    await _execute(store, update(mbx).where(mbx.c.id == inbox).values(uid_next=2))
    report = await check_store(store)
    assert [(p.kind, p.repair) for p in report.problems] == [
        (ProblemKind.UID_NEXT_TOO_LOW, "set uid_next to 4")
    ]
    repaired = await check_store(store, repair=True)
    assert repaired.ok and all(p.repaired for p in repaired.problems)
    assert (await check_store(store)).problems == []

    async def _uid_next(conn: AsyncConnection) -> int:
        return int(
            (await conn.execute(select(mbx.c.uid_next).where(mbx.c.id == inbox))).scalar_one()
        )

    assert await store.db.read(_uid_next) == 4


async def test_stale_counters_and_modseqs_are_repaired(store: SQLStore) -> None:
    account = await _user(store)
    await _add_message(store, account, b"Subject: a\r\n\r\nbody\r\n")
    acc, mbx = schema.accounts, schema.mailboxes
    await _execute(
        store,
        update(acc).where(acc.c.id == account).values(modseq=0, used_bytes=7, message_count=9),
    )
    await _execute(store, update(mbx).where(mbx.c.account_id == account).values(highest_modseq=0))
    report = await check_store(store)
    kinds = sorted(p.kind for p in report.problems)
    assert kinds == sorted(
        [ProblemKind.MODSEQ_BEHIND, ProblemKind.COUNTERS_WRONG, ProblemKind.MAILBOX_MODSEQ_BEHIND]
    )
    await check_store(store, repair=True)
    assert (await check_store(store)).problems == []


async def test_orphan_blobs_are_notices_and_old_ones_are_reclaimed(store: SQLStore) -> None:
    small = await store.blobs.put(b"nobody refers to me")
    large = await store.blobs.put(b"q" * 10_000)
    report = await check_store(store)
    assert report.ok
    assert {(p.kind, p.severity) for p in report.problems} == {
        (ProblemKind.ORPHAN_BLOB, Severity.NOTICE)
    }
    assert len(report.problems) == 2
    # Young orphans may belong to a delivery in flight: repair keeps them.
    await check_store(store, repair=True)
    assert await store.blobs.exists(small.id) and await store.blobs.exists(large.id)
    repaired = await check_store(store, repair=True, orphan_grace=timedelta(0))
    assert [p.repaired for p in repaired.problems] == [True, True]
    assert not await store.blobs.exists(small.id)
    assert not await store.blobs.exists(large.id)
    assert (await check_store(store)).problems == []


async def test_a_blob_file_without_a_row_is_an_orphan(store: SQLStore) -> None:
    backend = store.blobs.backend
    assert isinstance(backend, FileBlobBackend)
    from tidings.store.blobs import blob_id_of

    data = b"left by a crash between file and row" * 200
    await backend.write(blob_id_of(data), data)
    report = await check_store(store)
    assert [(p.kind, p.subject) for p in report.problems] == [
        (ProblemKind.ORPHAN_BLOB, f"blob {blob_id_of(data)}")
    ]
    await check_store(store, repair=True, orphan_grace=timedelta(0))
    assert not backend.path(blob_id_of(data)).exists()


async def test_check_agrees_with_the_mail_service_after_real_operations(store: SQLStore) -> None:
    # The mail service keeps the counters; check recomputes them from the rows. Both
    # follow the schema's rule: used_bytes/message_count sum the account's emails.
    from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
    from tidings.model.mail import DELETED, FlagOperation, MailboxRole

    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    archive = (await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.ARCHIVE)).id
    trash = (await store.mail.mailbox_by_role(alice, account(alice), MailboxRole.TRASH)).id
    mailer = Mailer(store)
    for size in (200, 9000, 300):
        await mailer.append(alice, box, size=size)
    blob = await store.blobs.put(b"Subject: delivered\r\n\r\n" + b"d" * 5000)
    await store.mail.deliver([(account(alice), MailboxRole.INBOX)], blob, headers("delivered"))
    uids = [m.uid for m in await store.mail.messages(alice, box)]
    await store.mail.copy(alice, box, uids[:2], archive)
    await store.mail.move(
        alice, archive, [(await store.mail.messages(alice, archive))[0].uid], trash
    )
    await store.mail.store_flags(alice, box, uids[1:3], FlagOperation.ADD, frozenset({DELETED}))
    await store.mail.expunge(alice, box)
    report = await check_store(store)
    assert [p.describe() for p in report.errors] == []
    # The expunged message's bytes are left for repair to reclaim.
    assert {p.kind for p in report.problems} <= {ProblemKind.ORPHAN_BLOB}
    quota = await store.mail.quota(alice, account(alice))
    sizes = [
        m.size
        for mailbox in (box, archive, trash)
        for m in await store.mail.messages(alice, mailbox)
    ]
    assert (quota.used_bytes, quota.messages) == (sum(sizes), len(sizes))


async def _age_blob(store: SQLStore, blob_id: BlobId, days: int) -> None:
    """Pretend the blob was last stored `days` ago (row stamp and file mtime)."""
    old = utcnow() - timedelta(days=days)
    await _execute(
        store, update(schema.blobs).where(schema.blobs.c.id == blob_id).values(created_at=old)
    )
    backend = store.blobs.backend
    assert isinstance(backend, FileBlobBackend)
    if backend.path(blob_id).exists():
        os.utime(backend.path(blob_id), (old.timestamp(), old.timestamp()))


async def test_reclaim_collects_old_orphans_but_not_blobs_stored_again(store: SQLStore) -> None:
    from tidings.store.check import reclaim_orphan_blobs

    kept_small, kept_large = b"stored again", b"L" * 10_000
    gone_small, gone_large = b"forgotten", b"F" * 10_000
    refs = [await store.blobs.put(d) for d in (kept_small, kept_large, gone_small, gone_large)]
    for ref in refs:
        await _age_blob(store, ref.id, days=3)
    # A delivery in flight stores the same bytes again just before the collection.
    await store.blobs.put(kept_small)
    await store.blobs.put(kept_large)
    assert await reclaim_orphan_blobs(store, grace=timedelta(days=1)) == 2
    assert [await store.blobs.exists(r.id) for r in refs] == [True, True, False, False]


async def test_reclaim_spares_blobs_that_emails_use(store: SQLStore) -> None:
    from tidings.store.check import reclaim_orphan_blobs

    account = await _user(store)
    blob_id = await _add_message(store, account, b"Subject: keep\r\n\r\n" + b"k" * 10_000)
    await _age_blob(store, blob_id, days=30)
    assert await reclaim_orphan_blobs(store, grace=timedelta(0)) == 0
    assert await store.blobs.exists(blob_id)


async def test_repair_from_a_stale_snapshot_never_moves_counters_back(store: SQLStore) -> None:
    # On a live server the store moves on between the check's read and the repair.
    from tidings.store.check import _apply, _Repairs

    account = await _user(store)
    for i in range(3):
        await _add_message(store, account, f"Subject: {i}\r\n\r\n".encode())
    inbox = await _inbox(store, account)
    stale = _Repairs(
        account_modseq={account: 1},
        account_counters={account: (0, 0)},
        mailbox_uid_next={inbox: 2},
        mailbox_modseq={inbox: 1},
    )
    before = await check_store(store)
    await _apply(store, stale, utcnow())
    after = await check_store(store)
    assert before.problems == [] and after.problems == []

    async def _uid_next(conn: AsyncConnection) -> int:
        mbx = schema.mailboxes
        return int(
            (await conn.execute(select(mbx.c.uid_next).where(mbx.c.id == inbox))).scalar_one()
        )

    assert await store.db.read(_uid_next) == 4


async def test_the_maintenance_task_reclaims_old_orphans_until_stopped(store: SQLStore) -> None:
    import asyncio

    from tidings.maintenance import run_maintenance

    ref = await store.blobs.put(b"O" * 10_000)
    await _age_blob(store, ref.id, days=3)
    stopping = asyncio.Event()
    task = asyncio.create_task(
        run_maintenance(store, stopping, interval=timedelta(milliseconds=20))
    )
    for _ in range(200):
        if not await store.blobs.exists(ref.id):
            break
        await asyncio.sleep(0.02)
    assert not await store.blobs.exists(ref.id)
    stopping.set()
    await asyncio.wait_for(task, 5)
