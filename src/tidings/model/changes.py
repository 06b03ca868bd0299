"""The change log: one record per mutation, numbered by the account's modseq."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tidings.model.ids import AccountId, ModSeq


class ObjectKind(enum.StrEnum):
    MAILBOX = "mailbox"
    EMAIL = "email"  # keyed by (mailbox, uid) for membership changes
    CALENDAR = "calendar"
    CALENDAR_OBJECT = "calendar_object"
    ADDRESSBOOK = "addressbook"
    CONTACT = "contact"


class ChangeOp(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DESTROYED = "destroyed"  # a tombstone


@dataclass(frozen=True, slots=True)
class Change:
    account_id: AccountId
    modseq: ModSeq
    kind: ObjectKind
    object_id: int
    collection_id: int | None  # the mailbox for emails; the calendar for events
    op: ChangeOp
    uid: int | None = None  # IMAP UID within the collection, when it has one


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """Changes after `since` up to `until`, oldest first; `has_more` if truncated."""

    account_id: AccountId
    since: ModSeq
    until: ModSeq
    changes: tuple[Change, ...]
    has_more: bool = False
