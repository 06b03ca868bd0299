"""`tidings check`: verify a store and say what repair would do.

Checks that every referenced blob exists and hashes to its id, that each
account's modseq is at or above every modseq recorded under it (change log,
mailboxes, messages), that each mailbox's UIDNEXT is above its highest UID
(RFC 9051 §2.3.1.1), that quota counters match the stored emails, and lists
orphan blobs. Repair raises counters and UIDNEXT; it never touches message bytes.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.ids import BlobId
from tidings.store.blobs import SQLBlobStore
from tidings.store.check_queries import (
    AccountFacts,
    MailboxFacts,
    OrphanBlob,
    delete_unreferenced,
    email_totals,
    load_accounts,
    load_mailboxes,
    load_orphans,
    referenced_blob_ids,
)
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_CHUNK = 200


class Severity(enum.StrEnum):
    ERROR = "error"  # data is wrong or lost
    NOTICE = "notice"  # harmless, e.g. space that could be reclaimed


class ProblemKind(enum.StrEnum):
    BLOB_MISSING = "blob_missing"
    BLOB_CORRUPT = "blob_corrupt"
    MODSEQ_BEHIND = "modseq_behind"
    MAILBOX_MODSEQ_BEHIND = "mailbox_modseq_behind"
    UID_NEXT_TOO_LOW = "uid_next_too_low"
    COUNTERS_WRONG = "counters_wrong"
    ORPHAN_BLOB = "orphan_blob"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    subject: str  # "account 3", "mailbox 7 (account 3)", "blob ab12..."
    detail: str
    repair: str | None  # what repair does; None: repair cannot fix it
    severity: Severity = Severity.ERROR
    repaired: bool = False

    def describe(self) -> str:
        if self.repair:
            fix = f"; repair: {self.repair}"
        else:
            fix = "" if self.severity is Severity.NOTICE else "; repair cannot fix this"
        done = " [repaired]" if self.repaired else ""
        return f"{self.severity}: {self.subject}: {self.detail}{fix}{done}"


@dataclass(slots=True)
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    blobs_checked: int = 0
    accounts_checked: int = 0
    mailboxes_checked: int = 0
    repaired: bool = False

    @property
    def errors(self) -> list[Problem]:
        """Errors that are still there (not repaired)."""
        return [p for p in self.problems if p.severity is Severity.ERROR and not p.repaired]

    @property
    def ok(self) -> bool:
        return not self.errors


class CheckableStore(Protocol):
    db: Database
    blobs: SQLBlobStore


@dataclass(slots=True)
class _Repairs:
    account_modseq: dict[int, int] = field(default_factory=dict)
    account_counters: dict[int, tuple[int, int]] = field(default_factory=dict)
    mailbox_uid_next: dict[int, int] = field(default_factory=dict)
    mailbox_modseq: dict[int, int] = field(default_factory=dict)
    orphans: list[OrphanBlob] = field(default_factory=list)


async def check_store(
    store: CheckableStore,
    *,
    repair: bool = False,
    progress: Progress | None = None,
    orphan_grace: timedelta = timedelta(days=1),
) -> CheckReport:
    """Check the whole store; with `repair`, fix what can be fixed without data loss.

    Orphan blobs older than `orphan_grace` are deleted by repair (younger ones may
    belong to a delivery in flight)."""
    report = CheckReport()
    fixes = _Repairs()
    blob_ids, accounts, mailboxes = await store.db.read(_snapshot)
    total = len(blob_ids) + len(accounts) + 1
    done = 0
    for start in range(0, len(blob_ids), _CHUNK):
        chunk = blob_ids[start : start + _CHUNK]
        report.problems.extend(await _check_blobs(store.blobs, chunk))
        report.blobs_checked += len(chunk)
        done += len(chunk)
        if progress:
            progress(done, total)
    for account in accounts:
        report.problems.extend(_check_account(account, fixes))
        report.accounts_checked += 1
        done += 1
        if progress:
            progress(done, total)
    for mailbox in mailboxes:
        report.problems.extend(_check_mailbox(mailbox, fixes))
        report.mailboxes_checked += 1
    cutoff = utcnow() - orphan_grace
    report.problems.extend(_check_orphans(await find_orphans(store), fixes, cutoff))
    if progress:
        progress(total, total)
    if repair:
        await _apply(store, fixes, cutoff)
        report.problems = [_mark_repaired(p) if p.repair else p for p in report.problems]
        report.repaired = True
    log.info(
        "store.check blobs=%d accounts=%d problems=%d repair=%s",
        report.blobs_checked,
        report.accounts_checked,
        len(report.problems),
        repair,
    )
    return report


async def _snapshot(
    conn: AsyncConnection,
) -> tuple[list[BlobId], list[AccountFacts], list[MailboxFacts]]:
    """Everything the checks compare, read in one transaction (one consistent view)."""
    return (
        await referenced_blob_ids(conn),
        await load_accounts(conn),
        await load_mailboxes(conn),
    )


def _mark_repaired(problem: Problem) -> Problem:
    return Problem(
        problem.kind, problem.subject, problem.detail, problem.repair, problem.severity, True
    )


async def _check_blobs(blobs: SQLBlobStore, ids: Sequence[BlobId]) -> list[Problem]:
    """Every referenced blob exists and its bytes hash to its id."""

    async def _rows(conn: AsyncConnection) -> dict[str, bytes | None]:
        rows = await conn.execute(
            select(schema.blobs.c.id, schema.blobs.c.data).where(schema.blobs.c.id.in_(ids))
        )
        return {r.id: r.data for r in rows}

    stored = await blobs.db.read(_rows)
    problems: list[Problem] = []
    for blob_id in ids:
        subject = f"blob {blob_id}"
        if blob_id not in stored:
            problems.append(Problem(ProblemKind.BLOB_MISSING, subject, "no blob row", None))
            continue
        data = stored[blob_id]
        if data is None:
            try:
                data = await blobs.backend.read(blob_id)
            except FileNotFoundError:
                detail = "the blob's file is missing"
                problems.append(Problem(ProblemKind.BLOB_MISSING, subject, detail, None))
                continue
        if hashlib.sha256(data).hexdigest() != blob_id:
            detail = "its bytes do not hash to its id (corrupted); restore from backup"
            problems.append(Problem(ProblemKind.BLOB_CORRUPT, subject, detail, None))
    return problems


def _check_account(account: AccountFacts, fixes: _Repairs) -> list[Problem]:
    problems: list[Problem] = []
    subject = f"account {account.id}"
    highest = max(account.max_change, account.max_mailbox_modseq, account.max_message_modseq)
    if account.modseq < highest:
        fixes.account_modseq[account.id] = highest
        detail = (
            f"modseq {account.modseq} is below recorded modseq {highest} "
            f"(changes {account.max_change}, mailboxes {account.max_mailbox_modseq}, "
            f"messages {account.max_message_modseq})"
        )
        problems.append(
            Problem(ProblemKind.MODSEQ_BEHIND, subject, detail, f"set modseq to {highest}")
        )
    if (account.used_bytes, account.message_count) != (account.sum_bytes, account.sum_count):
        fixes.account_counters[account.id] = (account.sum_bytes, account.sum_count)
        detail = (
            f"used_bytes={account.used_bytes} message_count={account.message_count} but the "
            f"emails add up to {account.sum_bytes} bytes in {account.sum_count} messages"
        )
        repair = f"set used_bytes={account.sum_bytes} message_count={account.sum_count}"
        problems.append(Problem(ProblemKind.COUNTERS_WRONG, subject, detail, repair))
    return problems


def _check_mailbox(mailbox: MailboxFacts, fixes: _Repairs) -> list[Problem]:
    problems: list[Problem] = []
    subject = f"mailbox {mailbox.id} (account {mailbox.account_id})"
    if mailbox.uid_next <= mailbox.max_uid:
        fixes.mailbox_uid_next[mailbox.id] = mailbox.max_uid + 1
        detail = f"uid_next {mailbox.uid_next} is not above the highest UID {mailbox.max_uid}"
        repair = f"set uid_next to {mailbox.max_uid + 1}"
        problems.append(Problem(ProblemKind.UID_NEXT_TOO_LOW, subject, detail, repair))
    if mailbox.highest_modseq < mailbox.max_message_modseq:
        fixes.mailbox_modseq[mailbox.id] = mailbox.max_message_modseq
        detail = (
            f"highest_modseq {mailbox.highest_modseq} is below a message's modseq "
            f"{mailbox.max_message_modseq}"
        )
        repair = f"set highest_modseq to {mailbox.max_message_modseq}"
        problems.append(Problem(ProblemKind.MAILBOX_MODSEQ_BEHIND, subject, detail, repair))
    return problems


async def find_orphans(store: CheckableStore) -> list[OrphanBlob]:
    """Blob rows no email or queued message uses, and files with no row at all."""
    orphans = await store.db.read(load_orphans)
    on_disk = await store.blobs.backend.list_ids()
    if not on_disk:
        return orphans

    async def _known(conn: AsyncConnection) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(on_disk), 500):
            chunk = on_disk[start : start + 500]
            rows = await conn.execute(select(schema.blobs.c.id).where(schema.blobs.c.id.in_(chunk)))
            known.update(r.id for r in rows)
        return known

    known = await store.db.read(_known)
    for blob_id in on_disk:
        stamp = None if blob_id in known else await store.blobs.backend.stored_at(blob_id)
        if stamp is not None:
            orphans.append(OrphanBlob(blob_id, None, stamp, file_only=True))
    return orphans


async def reclaim_orphan_blobs(
    store: CheckableStore, *, grace: timedelta = timedelta(days=1)
) -> int:
    """Delete orphan blobs last stored before `grace` ago; returns how many (for a
    periodic task: expunged messages leave their blobs for this to collect)."""
    cutoff = utcnow() - grace
    old = [o for o in await find_orphans(store) if o.stored_at < cutoff]
    return await _delete_orphans(store, old, cutoff)


async def _delete_orphans(
    store: CheckableStore, orphans: Sequence[OrphanBlob], cutoff: datetime
) -> int:
    """Rows first, each only if still unused and not stored again since `cutoff`, then
    their files. A put() of the same bytes racing the unlink itself can still lose the
    file; the grace period makes that need a delivery stalled for the whole period."""
    backend = store.blobs.backend
    rows = [o.id for o in orphans if not o.file_only]
    deleted = await store.db.write(lambda tx: delete_unreferenced(tx.conn, rows, cutoff))
    for blob_id in deleted:
        await backend.delete(blob_id)
    count = len(deleted)
    for orphan in orphans:
        if not orphan.file_only or await store.blobs.row(orphan.id) is not None:
            continue
        stamp = await backend.stored_at(orphan.id)
        if stamp is not None and stamp < cutoff:
            await backend.delete(orphan.id)
            count += 1
    if count:
        log.info("store.orphans_reclaimed blobs=%d", count)
    return count


def _check_orphans(
    orphans: Sequence[OrphanBlob], fixes: _Repairs, cutoff: datetime
) -> list[Problem]:
    problems: list[Problem] = []
    for orphan in orphans:
        old = orphan.stored_at < cutoff
        if old:
            fixes.orphans.append(orphan)
        size = "" if orphan.size is None else f" ({orphan.size} bytes)"
        where = "a file with no row" if orphan.file_only else "no email or queue entry"
        detail = f"unreferenced blob{size}: {where}"
        if not old:
            detail += "; kept for now (stored recently, may be a delivery in flight)"
        repair = "delete it" if old else None
        problems.append(
            Problem(ProblemKind.ORPHAN_BLOB, f"blob {orphan.id}", detail, repair, Severity.NOTICE)
        )
    return problems


async def _apply(store: CheckableStore, fixes: _Repairs, cutoff: datetime) -> None:
    """Write the counter and UIDNEXT repairs in one transaction; then drop old orphans."""
    acc, mbx = schema.accounts, schema.mailboxes

    async def _write(tx: Tx) -> None:
        # Counters only ever move up here, and sums are recomputed inside this
        # transaction: on a live server the checked snapshot may already be stale.
        for account_id, modseq in fixes.account_modseq.items():
            await tx.conn.execute(
                acc.update()
                .where(acc.c.id == account_id, acc.c.modseq < modseq)
                .values(modseq=modseq)
            )
        for account_id in fixes.account_counters:
            await tx.conn.execute(
                acc.update().where(acc.c.id == account_id).values(**email_totals(acc.c.id))
            )
        for mailbox_id, uid_next in fixes.mailbox_uid_next.items():
            await tx.conn.execute(
                mbx.update()
                .where(mbx.c.id == mailbox_id, mbx.c.uid_next < uid_next)
                .values(uid_next=uid_next)
            )
        for mailbox_id, modseq in fixes.mailbox_modseq.items():
            await tx.conn.execute(
                mbx.update()
                .where(mbx.c.id == mailbox_id, mbx.c.highest_modseq < modseq)
                .values(highest_modseq=modseq)
            )

    await store.db.write(_write)
    await _delete_orphans(store, fixes.orphans, cutoff)
    log.info(
        "store.repaired accounts=%d mailboxes=%d orphans=%d",
        len(fixes.account_modseq) + len(fixes.account_counters),
        len(fixes.mailbox_uid_next) + len(fixes.mailbox_modseq),
        len(fixes.orphans),
    )
