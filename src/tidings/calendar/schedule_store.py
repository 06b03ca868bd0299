"""Where delivered iTIP messages land (RFC 6638 §4): the schedule inbox, and the
recipient's own copy of the event in their calendars, read and written as them."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from typing import Any

import icalendar

from tidings.calendar.ical import new_calendar_object, parse_calendar
from tidings.calendar.itip import (
    apply_reply,
    exclude_instances,
    is_timing_change,
    partstat_of,
    sequence_of,
    set_partstat,
    stored_form,
    uid_of,
)
from tidings.model.dav import CollectionKind, DAVCollection, DAVObject, PreconditionFailed
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import AccountId
from tidings.store.services import DAVService

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9@._~+=-]{1,200}\Z")
ATTEMPTS = 3  # a concurrent change of the same copy (If-Match) is retried this often


def copy_name(uid: str) -> str:
    """The resource name of a delivered copy: the UID when it is URL-safe."""
    if _SAFE_NAME.match(uid) and uid not in (".", ".."):
        return f"{uid}.ics"
    return f"{hashlib.sha256(uid.encode()).hexdigest()[:40]}.ics"


def _sequence(obj: DAVObject) -> int:
    try:
        return sequence_of(parse_calendar(obj.data))
    except InvalidInput:
        return 0


class ScheduleStore:
    def __init__(self, dav: DAVService) -> None:
        self.dav = dav

    async def _collection(self, owner: Principal, kind: CollectionKind) -> DAVCollection:
        account = AccountId(int(owner.id))
        collections = await self.dav.list_collections(owner, account, kind)
        if kind is CollectionKind.CALENDAR:
            collections = [c for c in collections if "VEVENT" in c.components] or collections
            named = [c for c in collections if c.name == "default"]
            collections = named or list(collections)
        if not collections:
            raise NotFound(f"{owner.name} has no {kind.value} collection")
        return collections[0]

    async def inbox(self, owner: Principal) -> DAVCollection:
        """The owner's schedule inbox (created on first use)."""
        return await self._collection(owner, CollectionKind.SCHEDULE_INBOX)

    async def to_inbox(self, owner: Principal, text: str) -> DAVObject:
        inbox = await self.inbox(owner)
        name = f"{secrets.token_hex(12)}.ics"
        new = new_calendar_object(name, text, frozenset())
        obj, _ = await self.dav.put_object(owner, inbox.id, new)
        return obj

    async def copies(self, owner: Principal, uid: str) -> list[DAVObject]:
        account = AccountId(int(owner.id))
        found = await self.dav.find_by_uid(owner, account, CollectionKind.CALENDAR, uid)
        return list(found)

    async def accept_request(
        self,
        owner: Principal,
        address: str,
        request: icalendar.Calendar,
        partstat: str | None = None,
    ) -> DAVObject:
        """Put the organizer's version in the owner's calendar: `partstat` for the owner,
        or the answer they gave before unless the time moved, else NEEDS-ACTION."""
        uid = uid_of(request)
        for _ in range(ATTEMPTS):
            existing = await self.copies(owner, uid)
            calendar = parse_calendar(stored_form(request))
            answer = partstat
            if existing:
                before = parse_calendar(existing[0].data)
                if sequence_of(before) > sequence_of(calendar):
                    # RFC 5546 §2.1.5: an older revision than the one held is ignored.
                    log.info("scheduling.stale_request owner=%s uid=%s", owner.name, uid)
                    return existing[0]
                if answer is None and not is_timing_change(before, calendar):
                    answer = partstat_of(before, address)
            set_partstat(calendar, address, answer or "NEEDS-ACTION")
            text = str(calendar.to_ical().decode())
            try:
                if existing:
                    target = existing[0]
                    new = new_calendar_object(target.name, text, frozenset())
                    obj, _ = await self.dav.put_object(
                        owner, target.collection_id, new, if_match=target.etag
                    )
                else:
                    collection = await self._collection(owner, CollectionKind.CALENDAR)
                    new = new_calendar_object(copy_name(uid), text, frozenset())
                    obj, _ = await self.dav.put_object(
                        owner, collection.id, new, if_none_match=True
                    )
                return obj
            except PreconditionFailed:
                continue
        raise PreconditionFailed("the calendar copy kept changing; not updated")

    async def remove_copies(self, owner: Principal, uid: str, sequence: int | None = None) -> int:
        """Delete the owner's copies of the event (a CANCEL) that are not newer than
        `sequence`; how many went."""
        removed = 0
        for obj in await self.copies(owner, uid):
            if sequence is not None and _sequence(obj) > sequence:
                continue
            try:
                await self.dav.delete_object(owner, obj.collection_id, obj.name)
                removed += 1
            except NotFound:
                continue
        return removed

    async def cancel_instances(self, owner: Principal, uid: str, recurrences: list[Any]) -> None:
        """Take cancelled instances out of the owner's copies (RFC 5546 §3.2.5)."""
        for obj in await self.copies(owner, uid):
            calendar = parse_calendar(obj.data)
            if not exclude_instances(calendar, recurrences):
                continue
            text = str(calendar.to_ical().decode())
            new = new_calendar_object(obj.name, text, frozenset())
            try:
                await self.dav.put_object(owner, obj.collection_id, new, if_match=obj.etag)
            except PreconditionFailed:
                log.info("scheduling.cancel_raced owner=%s uid=%s", owner.name, uid)

    async def apply_to_organizer(
        self, owner: Principal, uid: str, reply: icalendar.Calendar
    ) -> bool:
        """Record the attendee's answer in the organizer's copies (RFC 6638 §3.2.2.1)."""
        changed = False
        for obj in await self.copies(owner, uid):
            for _ in range(ATTEMPTS):
                try:
                    calendar = parse_calendar(obj.data)
                except InvalidInput:
                    break
                if not apply_reply(calendar, reply):
                    break
                text = str(calendar.to_ical().decode())
                try:
                    await self.dav.put_object(
                        owner,
                        obj.collection_id,
                        new_calendar_object(obj.name, text, frozenset()),
                        if_match=obj.etag,
                    )
                    changed = True
                    break
                except PreconditionFailed:
                    obj = await self.dav.get_object(owner, obj.collection_id, obj.name)
        return changed
