"""Mailboxes, emails and their flags (RFC 9051 / RFC 8621 vocabulary)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tidings.model.ids import UID, AccountId, BlobId, EmailId, MailboxId, ModSeq

Keyword = str  # an IMAP flag or keyword as the client wrote it, e.g. "\\Seen", "$Forwarded"

SEEN = "\\Seen"
ANSWERED = "\\Answered"
FLAGGED = "\\Flagged"
DELETED = "\\Deleted"
DRAFT = "\\Draft"
SYSTEM_FLAGS = frozenset({SEEN, ANSWERED, FLAGGED, DELETED, DRAFT})


def normalize_keyword(keyword: str) -> Keyword:
    """System flags are case-insensitive (RFC 9051 §2.3.2); keep user keywords as given."""
    for flag in SYSTEM_FLAGS:
        if keyword.lower() == flag.lower():
            return flag
    return keyword


class MailboxRole(enum.StrEnum):
    """Special-use roles (RFC 6154), shared with JMAP's Mailbox/role."""

    INBOX = "inbox"
    DRAFTS = "drafts"
    SENT = "sent"
    JUNK = "junk"
    TRASH = "trash"
    ARCHIVE = "archive"
    ALL = "all"
    FLAGGED = "flagged"
    IMPORTANT = "important"


@dataclass(frozen=True, slots=True)
class Mailbox:
    id: MailboxId
    account_id: AccountId
    name: str  # full hierarchical name, "/"-separated, e.g. "Projects/2026"
    parent_id: MailboxId | None
    role: MailboxRole | None
    uid_validity: int
    uid_next: UID
    highest_modseq: ModSeq
    subscribed: bool = True
    sort_order: int = 0


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """Counters for STATUS / JMAP Mailbox; seen counts are from the actor's point of view."""

    mailbox: Mailbox
    messages: int
    unseen: int
    size: int
    deleted: int


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parsed header fields that SORT, THREAD, ENVELOPE and search need."""

    date: datetime | None
    subject: str
    from_: str
    sender: str
    reply_to: str
    to: str
    cc: str
    bcc: str
    in_reply_to: str
    message_id: str
    references: str = ""


@dataclass(frozen=True, slots=True)
class Email:
    id: EmailId
    account_id: AccountId
    blob_id: BlobId
    size: int
    received_at: datetime
    envelope: Envelope | None
    thread_id: int
    keywords: frozenset[Keyword]


@dataclass(frozen=True, slots=True)
class Message:
    """An email as a member of one mailbox: the IMAP view (UID, flags, modseq)."""

    mailbox_id: MailboxId
    uid: UID
    email_id: EmailId
    modseq: ModSeq
    flags: frozenset[Keyword]
    size: int
    received_at: datetime
    saved_at: datetime
    blob_id: BlobId
    thread_id: int


@dataclass(frozen=True, slots=True)
class Appended:
    mailbox_id: MailboxId
    uid_validity: int
    uid: UID
    email_id: EmailId
    modseq: ModSeq


@dataclass(frozen=True, slots=True)
class Moved:
    """Result of COPY/MOVE: source UIDs and the UIDs assigned in the target (UIDPLUS)."""

    uid_validity: int
    source_uids: tuple[UID, ...]
    target_uids: tuple[UID, ...]
    modseq: ModSeq


class FlagOperation(enum.Enum):
    REPLACE = "replace"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class Quota:
    """Storage use against limit (RFC 9208 STORAGE is in KiB on the wire; bytes here)."""

    used_bytes: int
    limit_bytes: int | None
    messages: int


@dataclass(frozen=True, slots=True)
class ParsedHeaders:
    """What the store indexes about a message, as `mime.index.parse_headers_for_store`
    computes it: decoded header values ("" when absent), the Date, search text."""

    date: datetime | None
    subject: str
    from_: str
    sender: str
    reply_to: str
    to: str
    cc: str
    bcc: str
    message_id: str
    in_reply_to: str
    references: str
    # Plain text for the full-text index (decoded bodies, attachment names).
    text: str
    # The subject with Re:/Fwd: removed (RFC 5256 base subject), for THREAD.
    base_subject: str = ""
