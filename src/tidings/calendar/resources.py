"""Rooms and equipment answering invitations by their booking policy: gather the
facts (who books, how long, how far ahead, how many, any conflict) and let
`calendar.booking.decide` answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import icalendar

from tidings.calendar.availability import Availability, overlaps_any
from tidings.calendar.booking import BookingRequest, Decision, decide
from tidings.calendar.freebusy import Period
from tidings.calendar.ical import instance_span, main_components
from tidings.calendar.itip import ITIPMessage, address_of
from tidings.calendar.timerange import TimeRange, instances
from tidings.model.directory import Principal, PrincipalKind, ResourcePolicy
from tidings.model.errors import NotFound
from tidings.store.services import DirectoryService

log = logging.getLogger(__name__)

RESOURCE_KINDS = frozenset({PrincipalKind.ROOM, PrincipalKind.EQUIPMENT})
CONFLICT_HORIZON = timedelta(days=366)  # instances beyond are not checked for conflicts
NOT_PEOPLE = frozenset({"ROOM", "RESOURCE"})


class ResourceDesk:
    def __init__(
        self,
        directory: DirectoryService,
        availability: Availability,
        clock: Callable[[], datetime],
    ) -> None:
        self.directory = directory
        self.availability = availability
        self.clock = clock

    def handles(self, principal: Principal) -> bool:
        return principal.kind in RESOURCE_KINDS

    async def policy(self, resource: Principal) -> ResourcePolicy:
        try:
            return await self.directory.resource_policy(resource.id)
        except NotFound:
            return ResourcePolicy()

    async def decide(
        self,
        resource: Principal,
        address: str,
        message: ITIPMessage,
        calendar: icalendar.Calendar,
    ) -> Decision:
        policy = await self.policy(resource)
        master = _master(calendar)
        span = instance_span(master) if master is not None else None
        if span is None:
            return Decision("DECLINED", "the request has no time")
        start, end, _ = span
        spans = _spans(calendar, start, start + CONFLICT_HORIZON)
        busy: tuple[Period, ...] = ()
        if spans:
            window_end = max(e for _, e in spans)
            if window_end > start:
                found = await self.availability.freebusy_for(
                    resource, start, window_end, exclude_uid=message.uid
                )
                busy = found.busy
        request = BookingRequest(
            start=start,
            end=end,
            may_book=await self._may_book(policy, message.organizer),
            participants=_participants(calendar, address, message.organizer),
            conflicts=overlaps_any(spans or [(start, end)], busy),
        )
        return decide(policy, request, self.clock())

    async def _may_book(self, policy: ResourcePolicy, organizer: str) -> bool:
        """Everyone may book without a bookers list; else the organizer must be one of
        them or in a group that is."""
        if not policy.bookers:
            return True
        try:
            principal = await self.directory.find_principal(organizer)
        except NotFound:
            return False
        for booker in policy.bookers:
            if booker == principal.id:
                return True
            try:
                group = await self.directory.get_principal(booker)
            except NotFound:
                continue
            if group.kind is PrincipalKind.GROUP:
                members = await self.directory.expand_group(group.id)
                if any(m.id == principal.id for m in members):
                    return True
        return False


def _master(calendar: icalendar.Calendar) -> Any:
    components = main_components(calendar)
    masters = [c for c in components if c.get("RECURRENCE-ID") is None]
    return (masters or components or [None])[0]


def _spans(calendar: icalendar.Calendar, start: datetime, end: datetime) -> list[Period]:
    found: list[Period] = []
    for instance in instances(calendar, "VEVENT", TimeRange(start, end)):
        if str(instance.get("STATUS", "")).upper() == "CANCELLED":
            continue
        span = instance_span(instance)
        if span is not None and span[1] > span[0]:
            found.append((span[0], span[1]))
    return found


def _participants(calendar: icalendar.Calendar, resource: str, organizer: str) -> int:
    """People invited: attendees that are not rooms or resources, plus the organizer."""
    people = {organizer} if organizer else set()
    master = _master(calendar)
    attendees = master.get("ATTENDEE") if master is not None else None
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if attendee is None:
            continue
        who = address_of(attendee)
        if who == resource or str(attendee.params.get("CUTYPE", "")).upper() in NOT_PEOPLE:
            continue
        people.add(who)
    return len(people)
