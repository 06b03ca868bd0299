"""Calendar and address-book collections and their objects (CalDAV/CardDAV, JMAP, EWS).

The source of truth of an object is its iCalendar or vCard text; the other
fields are an index computed by `tidings.calendar` before the store sees it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tidings.model.errors import Conflict
from tidings.model.ids import AccountId, ModSeq


class CollectionKind(enum.StrEnum):
    CALENDAR = "calendar"  # events, tasks and journals (by `components`)
    ADDRESSBOOK = "addressbook"


@dataclass(frozen=True, slots=True)
class DAVCollection:
    id: int
    account_id: AccountId
    kind: CollectionKind
    name: str  # the URL segment, unique per account and kind
    display_name: str
    description: str
    color: str
    timezone: str  # a VTIMEZONE text, or ""
    components: frozenset[str]  # VEVENT, VTODO, VJOURNAL; empty for address books
    modseq: ModSeq  # the CTag and sync token: the last change to the collection or an object


@dataclass(frozen=True, slots=True)
class NewCollection:
    kind: CollectionKind
    name: str
    display_name: str = ""
    description: str = ""
    color: str = ""
    timezone: str = ""
    components: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CollectionPatch:
    """PROPPATCH: None leaves a field as it is."""

    display_name: str | None = None
    description: str | None = None
    color: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class NewDAVObject:
    """One object to store, already validated and indexed by `tidings.calendar`."""

    name: str  # the resource name in the collection (`abc.ics`)
    data: str
    uid: str
    component: str  # VEVENT, VTODO, VJOURNAL or VCARD
    # The first instance's start and the last instance's end (UTC); None: unbounded
    # on that side (RFC 4791 §9.9: a VTODO without dates matches every range).
    first_start: datetime | None = None
    last_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class DAVObject:
    id: int
    collection_id: int
    name: str
    uid: str
    etag: str  # strong, without quotes
    component: str
    data: str
    first_start: datetime | None
    last_end: datetime | None
    modseq: ModSeq


@dataclass(frozen=True, slots=True)
class CollectionChanges:
    """RFC 6578: names changed (created or updated) and removed after a token."""

    token: ModSeq
    changed: tuple[DAVObject, ...]
    removed: tuple[str, ...]


class PreconditionFailed(Conflict):
    """If-Match / If-None-Match did not hold (HTTP 412)."""


class UIDConflict(Conflict):
    """Another object of the collection has this UID (RFC 4791 §5.3.2.1 no-uid-conflict)."""

    def __init__(self, message: str, existing_name: str) -> None:
        super().__init__(message)
        self.existing_name = existing_name


class InvalidSyncToken(Conflict):
    """The sync token is not one this collection issued, or is too old (RFC 6578 §3.2)."""
