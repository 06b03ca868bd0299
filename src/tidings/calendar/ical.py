"""Validate an iCalendar object resource and index it (RFC 4791 §4.1, §9.9).

The index is what the store keeps beside the text: the UID, the component kind and
the bounds of all instances (the first instance's start, the last one's end), so
that a time-range query needs no parsing of objects that cannot match.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import recurring_ical_events

from tidings.model.dav import NewDAVObject
from tidings.model.errors import InvalidInput

log = logging.getLogger(__name__)

COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
MAX_BYTES = 1_000_000
# A bounded series longer than this is indexed as open-ended (cheap and still correct:
# the index only has to be a superset of the true range).
MAX_INDEXED_INSTANCES = 20_000
# Floating times and dates mean "in whatever zone the reader is": widen the index by
# the largest UTC offsets in use, so no zone's reader misses the object.
FLOATING_SLACK = timedelta(hours=14)

# CalDAV precondition names (RFC 4791 §5.3.2.1), carried in InvalidInput.field.
VALID_DATA = "valid-calendar-data"
VALID_OBJECT = "valid-calendar-object-resource"
SUPPORTED_COMPONENT = "supported-calendar-component"


@dataclass(frozen=True, slots=True)
class CalendarIndex:
    uid: str
    component: str
    first_start: datetime | None
    last_end: datetime | None


def parse_calendar(data: str) -> icalendar.Calendar:
    """Raises InvalidInput(field=valid-calendar-data)."""
    if len(data) > MAX_BYTES:
        raise InvalidInput("the calendar object is too large", field=VALID_DATA)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise InvalidInput(f"not valid iCalendar: {exc}", field=VALID_DATA) from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise InvalidInput("the body must be one VCALENDAR", field=VALID_DATA)
    return calendar


def main_components(calendar: icalendar.Calendar) -> list[Any]:
    return [c for c in calendar.subcomponents if c.name in COMPONENTS]


def index_calendar(data: str, allowed: frozenset[str]) -> CalendarIndex:
    """Check the RFC 4791 §4.1 rules and compute the index.

    Raises InvalidInput with field valid-calendar-data, valid-calendar-object-resource
    or supported-calendar-component.
    """
    calendar = parse_calendar(data)
    components = main_components(calendar)
    if not components:
        raise InvalidInput("no VEVENT, VTODO or VJOURNAL in the object", field=VALID_OBJECT)
    kinds = {c.name for c in components}
    uids = {str(c.get("UID", "")) for c in components}
    if len(kinds) != 1 or len(uids) != 1:
        raise InvalidInput("one object holds one component type and one UID", VALID_OBJECT)
    kind, uid = kinds.pop(), uids.pop()
    if not uid:
        raise InvalidInput("the component has no UID", field=VALID_OBJECT)
    if allowed and kind not in allowed:
        raise InvalidInput(f"this calendar does not take {kind}", field=SUPPORTED_COMPONENT)
    first, last = instance_bounds(calendar, kind)
    return CalendarIndex(uid, kind, first, last)


def new_calendar_object(name: str, data: str, allowed: frozenset[str]) -> NewDAVObject:
    """The store's input for a PUT of `data` under `name`. Raises InvalidInput."""
    index = index_calendar(data, allowed)
    return NewDAVObject(
        name=name,
        data=data,
        uid=index.uid,
        component=index.component,
        first_start=index.first_start,
        last_end=index.last_end,
    )


def to_utc(value: date | datetime, *, end: bool = False) -> tuple[datetime, bool]:
    """(UTC datetime, floating?); a date is its midnight, a naive time is floating."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC), True
    return value.astimezone(UTC), False


def instance_span(component: Any) -> tuple[datetime, datetime, bool] | None:
    """One instance's [start, end) in UTC and whether it floats; None without dates."""
    start_prop = component.get("DTSTART") or component.get("DUE")
    if start_prop is None:
        return None
    start, floating = to_utc(start_prop.dt)
    end_value: Any = None
    for name in ("DTEND", "DUE"):
        if component.get(name) is not None:
            end_value = component[name].dt
            break
    if end_value is not None:
        end, _ = to_utc(end_value)
    elif component.get("DURATION") is not None:
        end = start + component["DURATION"].dt
    elif not isinstance(start_prop.dt, datetime):
        end = start + timedelta(days=1)  # RFC 5545 §3.6.1: an all-day event lasts a day
    else:
        end = start
    return start, max(start, end), floating


def _unbounded(calendar: icalendar.Calendar, kind: str) -> bool:
    for component in calendar.walk(kind):
        for rule in _rules(component):
            if "COUNT" not in rule and "UNTIL" not in rule:
                return True
    return False


def _rules(component: Any) -> list[Any]:
    rules = component.get("RRULE")
    if rules is None:
        return []
    return rules if isinstance(rules, list) else [rules]


def instance_bounds(
    calendar: icalendar.Calendar, kind: str
) -> tuple[datetime | None, datetime | None]:
    """The first instance's start and the last instance's end, in UTC."""
    if not any(instance_span(c) for c in calendar.walk(kind)):
        return None, None  # RFC 4791 §9.9: an undated VTODO overlaps every range
    try:
        instances = recurring_ical_events.of(calendar, components=[kind]).all()
        first: datetime | None = None
        last: datetime | None = None
        floating = False
        unbounded = _unbounded(calendar, kind)
        for count, instance in enumerate(instances):
            span = instance_span(instance)
            if span is None:
                continue
            start, end, floats = span
            floating = floating or floats
            first = start if first is None else min(first, start)
            last = end if last is None else max(last, end)
            if unbounded or count >= MAX_INDEXED_INSTANCES:
                last = FAR_FUTURE
                break
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(f"the recurrence cannot be expanded: {exc}", VALID_DATA) from None
    if first is None or last is None:
        return None, None
    if floating:
        first -= FLOATING_SLACK
        last = min(FAR_FUTURE, last + FLOATING_SLACK)
    return first, last
