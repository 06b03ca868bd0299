"""Mail rows to model values, and the small column helpers the mail modules share."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, Select, select

from tidings.model.ids import UID, AccountId, BlobId, EmailId, MailboxId, ModSeq
from tidings.model.mail import (
    SEEN,
    Email,
    Envelope,
    Keyword,
    Mailbox,
    MailboxRole,
    Message,
    normalize_keyword,
)
from tidings.store.sql import schema

# Bound-parameter lists are cut to this size (SQLite and asyncpg cap parameters).
CHUNK = 500

MESSAGE_COLUMNS = (
    schema.mailbox_messages.c.mailbox_id,
    schema.mailbox_messages.c.uid,
    schema.mailbox_messages.c.email_id,
    schema.mailbox_messages.c.modseq,
    schema.mailbox_messages.c.saved_at,
    schema.emails.c.size,
    schema.emails.c.received_at,
    schema.emails.c.blob_id,
    schema.emails.c.thread_id,
    schema.emails.c.keywords,
    schema.emails.c.account_id,
)


def chunks(values: Iterable[int], size: int = CHUNK) -> Iterable[list[int]]:
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def encode_keywords(keywords: Iterable[Keyword]) -> str:
    return json.dumps(sorted(set(keywords)))


def decode_keywords(text: str | None) -> frozenset[Keyword]:
    return frozenset(json.loads(text)) if text else frozenset()


def normalize_keywords(keywords: Iterable[Keyword]) -> frozenset[Keyword]:
    return frozenset(normalize_keyword(k) for k in keywords)


def visible_flags(
    keywords: frozenset[Keyword], private_seen: bool, seen_by_actor: bool
) -> frozenset[Keyword]:
    """Flags as one reader sees them: with private \\Seen, the reader's own row decides."""
    if not private_seen:
        return keywords
    return (keywords - {SEEN}) | ({SEEN} if seen_by_actor else frozenset())


def to_mailbox(row: Row[Any]) -> Mailbox:
    return Mailbox(
        id=MailboxId(int(row.id)),
        account_id=AccountId(int(row.account_id)),
        name=row.name,
        parent_id=MailboxId(int(row.parent_id)) if row.parent_id is not None else None,
        role=MailboxRole(row.role) if row.role else None,
        uid_validity=int(row.uid_validity),
        uid_next=UID(int(row.uid_next)),
        highest_modseq=ModSeq(int(row.highest_modseq)),
        subscribed=bool(row.subscribed),
        sort_order=int(row.sort_order),
    )


def message_select(actor_id: int | None, private_seen: bool) -> Select[Any]:
    """Memberships joined to their emails; with private \\Seen, the actor's seen row."""
    mm, emails, seen = schema.mailbox_messages, schema.emails, schema.seen_flags
    joined = mm.join(emails, emails.c.id == mm.c.email_id)
    if private_seen and actor_id is not None:
        joined = joined.outerjoin(
            seen, (seen.c.email_id == mm.c.email_id) & (seen.c.principal_id == actor_id)
        )
        return select(*MESSAGE_COLUMNS, seen.c.principal_id.label("seen_by")).select_from(joined)
    return select(*MESSAGE_COLUMNS).select_from(joined)


def row_flags(row: Row[Any], private_seen: bool) -> frozenset[Keyword]:
    seen_by = getattr(row, "seen_by", None)
    return visible_flags(decode_keywords(row.keywords), private_seen, seen_by is not None)


def to_message(row: Row[Any], private_seen: bool) -> Message:
    return Message(
        mailbox_id=MailboxId(int(row.mailbox_id)),
        uid=UID(int(row.uid)),
        email_id=EmailId(int(row.email_id)),
        modseq=ModSeq(int(row.modseq)),
        flags=row_flags(row, private_seen),
        size=int(row.size),
        received_at=row.received_at,
        saved_at=row.saved_at,
        blob_id=BlobId(row.blob_id),
        thread_id=int(row.thread_id),
    )


def to_email(row: Row[Any], keywords: frozenset[Keyword]) -> Email:
    envelope = Envelope(
        date=row.sent_at,
        subject=row.subject,
        from_=row.from_,
        sender=row.sender,
        reply_to=row.reply_to,
        to=row.to_,
        cc=row.cc,
        bcc=row.bcc,
        in_reply_to=row.in_reply_to,
        message_id=row.message_id,
        references=row.references,
    )
    return Email(
        id=EmailId(int(row.id)),
        account_id=AccountId(int(row.account_id)),
        blob_id=BlobId(row.blob_id),
        size=int(row.size),
        received_at=row.received_at,
        envelope=envelope,
        thread_id=int(row.thread_id),
        keywords=keywords,
    )
