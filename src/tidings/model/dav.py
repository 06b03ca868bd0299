"""Calendar and address-book collections and their objects (CalDAV/CardDAV, JMAP, EWS).

The source of truth of an object is its iCalendar or vCard text; the other
fields are an index computed by `tidings.calendar` before the store sees it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tidings.model.errors import Conflict
from tidings.model.ids import AccountId, ModSeq, PrincipalId


class CollectionKind(enum.StrEnum):
    CALENDAR = "calendar"  # events, tasks and journals (by `components`)
    ADDRESSBOOK = "addressbook"
    # RFC 6638 §2.2: iTIP messages delivered to the owner (one per account, "inbox").
    SCHEDULE_INBOX = "schedule-inbox"


class ShareLevel(enum.StrEnum):
    """What a principal may do in one collection, lowest first (decision 0005a)."""

    FREE_BUSY = "free_busy"  # free-busy-query only: no object, no data
    READ = "read"
    READ_WRITE = "read_write"  # objects; not the collection itself
    MANAGE = "manage"  # everything the owner may do, sharing included

    @property
    def rank(self) -> int:
        return _SHARE_RANKS[self]

    def allows(self, needed: ShareLevel) -> bool:
        return self.rank >= needed.rank


_SHARE_RANKS = {level: rank for rank, level in enumerate(ShareLevel, start=1)}


@dataclass(frozen=True, slots=True)
class CollectionGrant:
    """One entry of a collection's ACL: a user or a group and its level."""

    collection_id: int
    grantee: PrincipalId
    level: ShareLevel


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
    # What the actor who asked may do here (the owner manages; sharees by their grant).
    access: ShareLevel = ShareLevel.MANAGE
    # RFC 6638 §9.1 schedule-calendar-transp: a transparent calendar never makes its
    # owner busy (free/busy and resource conflicts skip it).
    transparent: bool = False


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
    transparent: bool | None = None


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
    modified_at: datetime | None = None  # DAV:getlastmodified; None for older rows


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
