"""Adding emails to mailboxes: APPEND, MULTIAPPEND, delivery and the target side of COPY.

UIDs come from one `UPDATE mailboxes SET uid_next = uid_next + n ... RETURNING`
(RFC 9051 §2.3.1.1: strictly ascending, never reused), the row lock ordering
concurrent writers; the account gets one modseq per operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import Right
from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.ids import UID, AccountId, EmailId, MailboxId, ModSeq
from tidings.model.mail import DELETED, SEEN, Appended, Keyword, Mailbox
from tidings.store.search import IndexedText, copy_index, index_emails
from tidings.store.services import BlobRef, ParsedHeaders
from tidings.store.sql import schema
from tidings.store.sql.accounts import next_modseq
from tidings.store.sql.database import Tx
from tidings.store.sql.mail_log import Publish, announce, charge, charge_within_quota
from tidings.store.sql.mail_rows import encode_keywords, normalize_keywords
from tidings.store.sql.threads import find_thread
from tidings.store.sql.types import utcnow

# The hot statements of every write, built once (see mail_log.py): executed with
# parameter dicts, so no statement is built or cache-keyed per row. Parameter
# names must not be column names (an UPDATE would take those as SET values).
_ALLOCATE_UIDS = (
    update(schema.mailboxes)
    .where(schema.mailboxes.c.id == bindparam("p_mailbox"))
    .values(
        uid_next=schema.mailboxes.c.uid_next + bindparam("p_count"),
        highest_modseq=bindparam("p_modseq"),
    )
    .returning(schema.mailboxes.c.uid_next, schema.mailboxes.c.uid_validity)
)
_INSERT_EMAIL = insert(schema.emails).returning(schema.emails.c.id)
# A new thread is named after its first email, whose id is known only after its insert.
_NAME_THREADS = (
    update(schema.emails)
    .where(schema.emails.c.id.in_(bindparam("p_ids", expanding=True)))
    .values(thread_id=schema.emails.c.id)
)
_INSERT_MEMBERSHIP = insert(schema.mailbox_messages)
_INSERT_SEEN = insert(schema.seen_flags)
# The email changes of one operation in one statement (accounts.record_change rows).
_INSERT_CHANGE = insert(schema.changes)


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """One email row to insert: from parsed headers, or copied from another email."""

    blob_id: str
    size: int
    received_at: datetime
    envelope: dict[str, object]  # the emails table's header columns
    keywords: frozenset[Keyword]
    index: IndexedText | int  # text to index, or the email whose index to copy
    seen_by: int | None = None  # a reader whose private \Seen to set
    thread_id: int | None = None  # a known thread (copy within one account)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a draft goes."""

    mailbox: Mailbox
    draft: EmailDraft


def envelope_columns(headers: ParsedHeaders) -> dict[str, object]:
    return {
        "sent_at": headers.date,
        "subject": headers.subject,
        "base_subject": headers.base_subject,
        "from_": headers.from_,
        "sender": headers.sender,
        "reply_to": headers.reply_to,
        "to_": headers.to,
        "cc": headers.cc,
        "bcc": headers.bcc,
        "message_id": headers.message_id,
        "in_reply_to": headers.in_reply_to,
        "references": headers.references,
    }


def indexed_text(headers: ParsedHeaders) -> IndexedText:
    return IndexedText(
        subject=headers.subject,
        from_=headers.from_,
        to_=headers.to,
        cc=headers.cc,
        bcc=headers.bcc,
        body=headers.text,
    )


def permitted_flags(rights: frozenset[Right], keywords: frozenset[Keyword]) -> frozenset[Keyword]:
    """RFC 4314 §4: flags the actor may not set are dropped silently (s, t, w)."""
    return frozenset(k for k in keywords if flag_right(k) in rights)


def flag_right(keyword: Keyword) -> Right:
    if keyword == SEEN:
        return Right.SEEN
    if keyword == DELETED:
        return Right.DELETE_MESSAGES
    return Right.WRITE


def draft_from_headers(
    blob: BlobRef,
    headers: ParsedHeaders,
    keywords: frozenset[Keyword],
    received_at: datetime | None,
    *,
    private_seen_for: int | None = None,
) -> EmailDraft:
    """A new email; with a private-\\Seen reader, their \\Seen goes to `seen_flags`."""
    flags = normalize_keywords(keywords)
    seen_by = None
    if private_seen_for is not None and SEEN in flags:
        flags, seen_by = flags - {SEEN}, private_seen_for
    return EmailDraft(
        blob_id=blob.id,
        size=blob.size,
        received_at=received_at or utcnow(),
        envelope=envelope_columns(headers),
        keywords=flags,
        index=indexed_text(headers),
        seen_by=seen_by,
    )


@dataclass(slots=True)
class _Rows:
    """Rows of one `place` call that nothing reads before it ends: written at its
    end, one executemany per table, in the order they were added."""

    memberships: list[dict[str, object]] = field(default_factory=list)
    seen: list[dict[str, object]] = field(default_factory=list)
    indexed: list[tuple[int, IndexedText]] = field(default_factory=list)
    changes: list[dict[str, object]] = field(default_factory=list)
    new_threads: list[int] = field(default_factory=list)

    async def name_threads(self, conn: AsyncConnection) -> None:
        """Give pending new threads their ids (before anything looks threads up)."""
        if self.new_threads:
            await conn.execute(_NAME_THREADS, {"p_ids": self.new_threads})
            self.new_threads = []

    async def write(self, conn: AsyncConnection) -> None:
        await self.name_threads(conn)
        if self.memberships:
            await conn.execute(_INSERT_MEMBERSHIP, self.memberships)
        if self.seen:
            await conn.execute(_INSERT_SEEN, self.seen)
        if self.indexed:
            await index_emails(conn, conn.dialect.name, self.indexed)
        if self.changes:
            await conn.execute(_INSERT_CHANGE, self.changes)


async def allocate_uids(
    conn: AsyncConnection, mailbox: MailboxId, count: int, modseq: ModSeq
) -> tuple[int, UID]:
    """Reserve `count` UIDs; returns (UIDVALIDITY, first UID)."""
    params = {"p_mailbox": mailbox, "p_count": count, "p_modseq": modseq}
    row = (await conn.execute(_ALLOCATE_UIDS, params)).one()
    return int(row.uid_validity), UID(int(row.uid_next) - count)


async def place(
    tx: Tx, placements: Sequence[Placement], publish: Publish, *, enforce_quota: bool = True
) -> list[Appended]:
    """Insert every draft into its mailbox: one modseq per account, results in order.
    Raises QuotaExceeded (when enforced) for any account that would go over."""
    by_account: dict[AccountId, list[int]] = {}
    for index, placement in enumerate(placements):
        by_account.setdefault(placement.mailbox.account_id, []).append(index)
    results: dict[int, Appended] = {}
    rows = _Rows()
    # Accounts in id order, so concurrent writers lock rows in the same order.
    for account in sorted(by_account):
        indexes = by_account[account]
        size = sum(placements[i].draft.size for i in indexes)
        if enforce_quota:
            await charge_within_quota(tx.conn, account, size, len(indexes))
        else:
            await charge(tx.conn, account, size, len(indexes))
        modseq = await next_modseq(tx, account)
        by_mailbox: dict[MailboxId, list[int]] = {}
        for i in indexes:
            by_mailbox.setdefault(placements[i].mailbox.id, []).append(i)
        for mailbox_id in sorted(by_mailbox):
            group = by_mailbox[mailbox_id]
            uid_validity, first = await allocate_uids(tx.conn, mailbox_id, len(group), modseq)
            for offset, i in enumerate(group):
                uid = UID(first + offset)
                email_id = await insert_email(
                    tx.conn, rows, account, mailbox_id, uid, modseq, placements[i].draft
                )
                results[i] = Appended(mailbox_id, uid_validity, uid, email_id, modseq)
        announce(tx, publish, account, modseq)
    await rows.write(tx.conn)
    return [results[i] for i in range(len(placements))]


async def insert_email(
    conn: AsyncConnection,
    rows: _Rows,
    account: AccountId,
    mailbox: MailboxId,
    uid: UID,
    modseq: ModSeq,
    draft: EmailDraft,
) -> EmailId:
    """The email row now; its membership, index entry and change record into `rows`."""
    thread_id = draft.thread_id
    if thread_id is None:
        in_reply_to = str(draft.envelope.get("in_reply_to") or "")
        references = str(draft.envelope.get("references") or "")
        if in_reply_to or references:
            # It may refer to an email placed just before, whose thread is pending.
            await rows.name_threads(conn)
            thread_id = await find_thread(conn, account, in_reply_to, references)
    params: dict[str, object] = {
        "account_id": account,
        "blob_id": draft.blob_id,
        "size": draft.size,
        "received_at": draft.received_at,
        "thread_id": thread_id or 0,
        "keywords": encode_keywords(draft.keywords),
        **draft.envelope,
    }
    email_id = EmailId(int((await conn.execute(_INSERT_EMAIL, params)).scalar_one()))
    if thread_id is None:  # a new thread is named after its first email
        rows.new_threads.append(email_id)
    rows.memberships.append(
        {
            "mailbox_id": mailbox,
            "uid": uid,
            "email_id": email_id,
            "modseq": modseq,
            "saved_at": utcnow(),
        }
    )
    if draft.seen_by is not None:
        rows.seen.append({"email_id": email_id, "principal_id": draft.seen_by})
    if isinstance(draft.index, IndexedText):
        rows.indexed.append((email_id, draft.index))
    else:
        await copy_index(conn, conn.dialect.name, draft.index, email_id)
    rows.changes.append(
        {
            "account_id": account,
            "modseq": modseq,
            "kind": ObjectKind.EMAIL.value,
            "object_id": email_id,
            "collection_id": mailbox,
            "op": ChangeOp.CREATED.value,
            "uid": uid,
        }
    )
    return email_id
