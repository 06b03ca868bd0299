"""Free/busy of a calendar user over all of their calendars (RFC 6638 §5, RFC 5546
§3.3): the service the schedule-outbox POST, resource booking, EWS and JMAP share."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar

from tidings.calendar.freebusy import Period, busy_periods
from tidings.calendar.ical import parse_calendar
from tidings.calendar.timerange import TimeRange
from tidings.model.dav import CollectionKind, DAVCollection
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput
from tidings.model.ids import AccountId
from tidings.store.services import DAVService

log = logging.getLogger(__name__)

MAX_FREEBUSY_DAYS = 366  # a wider query is refused: it would expand too many instances


@dataclass(frozen=True, slots=True)
class FreeBusy:
    """Merged busy periods (UTC) of one calendar user in [start, end)."""

    address: str
    start: datetime
    end: datetime
    busy: tuple[Period, ...]
    tentative: tuple[Period, ...]


class Availability:
    """Reads calendars as their owner (the caller decides who may ask)."""

    def __init__(self, dav: DAVService) -> None:
        self.dav = dav

    async def calendars(
        self, principal: Principal, start: datetime, end: datetime, exclude_uid: str | None
    ) -> list[icalendar.Calendar]:
        """The parsed events of every calendar that counts for free/busy, in range."""
        account = AccountId(int(principal.id))
        found: list[icalendar.Calendar] = []
        collections = await self.dav.list_collections(principal, account, CollectionKind.CALENDAR)
        for collection in collections:
            if "VEVENT" not in collection.components or not counts_for_busy(collection):
                continue
            objects = await self.dav.list_objects(
                principal, collection.id, start=start, end=end, component="VEVENT"
            )
            for obj in objects:
                if exclude_uid is not None and obj.uid == exclude_uid:
                    continue
                try:
                    found.append(parse_calendar(obj.data))
                except InvalidInput:
                    log.warning("availability.unreadable object_id=%d", obj.id)
        return found

    async def freebusy_for(
        self,
        principal: Principal,
        start: datetime,
        end: datetime,
        *,
        exclude_uid: str | None = None,
    ) -> FreeBusy:
        """Busy time from opaque, not cancelled, not declined events (RFC 5545 §3.8.2.7,
        §3.8.1.11). Raises InvalidInput for an empty or too long range."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start or (end - start).days > MAX_FREEBUSY_DAYS:
            raise InvalidInput(f"a free/busy range must be 1 second to {MAX_FREEBUSY_DAYS} days")
        calendars = await self.calendars(principal, start, end, exclude_uid)
        periods = busy_periods(calendars, TimeRange(start, end), attendee=principal.name)
        return FreeBusy(
            principal.name, start, end,
            tuple(periods["BUSY"]), tuple(periods["BUSY-TENTATIVE"]),
        )


def counts_for_busy(collection: DAVCollection) -> bool:
    """RFC 6638 §9.1 schedule-calendar-transp: a transparent calendar never makes its
    owner busy (calendars are opaque unless marked)."""
    return not collection.transparent


def freebusy_reply(
    found: FreeBusy, organizer: str, uid: str | None = None, now: datetime | None = None
) -> str:
    """A METHOD:REPLY VCALENDAR with one VFREEBUSY (RFC 5546 §3.3.2)."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Tidings//Scheduling//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", "REPLY")
    component = icalendar.FreeBusy()
    component.add("UID", uid or str(uuid.uuid4()))
    component.add("DTSTAMP", now or datetime.now(UTC))
    component.add("DTSTART", found.start)
    component.add("DTEND", found.end)
    component.add("ORGANIZER", f"mailto:{organizer}")
    component.add("ATTENDEE", f"mailto:{found.address}")
    for kind, periods in (("BUSY", found.busy), ("BUSY-TENTATIVE", found.tentative)):
        for period in periods:
            component.add("FREEBUSY", [period], parameters={"FBTYPE": kind})
    calendar.add_component(component)
    return str(calendar.to_ical().decode())


def overlaps_any(spans: list[Period], busy: tuple[Period, ...]) -> bool:
    """Whether any [start, end) span intersects any busy period."""
    return any(s < b_end and b_start < e for s, e in spans for b_start, b_end in busy)
