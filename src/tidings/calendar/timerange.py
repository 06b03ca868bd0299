"""Time ranges over recurring components: overlap (RFC 4791 §9.9) and the `expand`
and `limit-recurrence-set` transformations of calendar-data (§9.6.5, §9.6.6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import icalendar
import recurring_ical_events

from tidings.calendar.ical import COMPONENTS, instance_span, main_components, to_utc

RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE")
TIME_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end) in UTC; None is open on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """RFC 4791 §9.9: a zero-length span overlaps when it lies inside or at start."""
        if self.end is not None and start >= self.end:
            return False
        if self.start is None:
            return True
        return end > self.start or (start == end and start >= self.start)


def _window(time_range: TimeRange) -> tuple[datetime, datetime]:
    start = time_range.start or datetime(
        1, 1, 2, tzinfo=time_range.end.tzinfo if time_range.end else None
    )
    end = time_range.end or datetime(9998, 12, 31, tzinfo=start.tzinfo)
    return start, end


def instances(calendar: icalendar.Calendar, kind: str, time_range: TimeRange) -> list[Any]:
    """Every instance of `kind` (overrides applied, EXDATEs removed) that overlaps."""
    if not any(instance_span(c) for c in calendar.walk(kind)):
        return []
    start, end = _window(time_range)
    found = recurring_ical_events.of(calendar, components=[kind]).between(start, end)
    result = []
    for instance in found:
        span = instance_span(instance)
        if span is None or time_range.overlaps(span[0], span[1]):
            result.append(instance)
    return result


def overlaps(calendar: icalendar.Calendar, kind: str, time_range: TimeRange) -> bool:
    """Whether any instance of `kind` overlaps; an undated VTODO always does."""
    components = list(calendar.walk(kind))
    if not components:
        return False
    if kind == "VTODO" and not any(instance_span(c) for c in components):
        return True
    return bool(instances(calendar, kind, time_range))


def _utc_property(component: Any, name: str) -> None:
    value = component.get(name)
    if value is None or not isinstance(value.dt, datetime):
        return
    utc, floating = to_utc(value.dt)
    if not floating:
        del component[name]
        component.add(name, utc)


def expand(calendar: icalendar.Calendar, time_range: TimeRange) -> icalendar.Calendar:
    """RFC 4791 §9.6.5: one component per instance in range, in UTC, no rules or
    VTIMEZONE; recurring instances carry their RECURRENCE-ID."""
    result = icalendar.Calendar()
    for key, value in calendar.property_items(recursive=False)[1:-1]:
        result.add(key, value)
    kinds = {c.name for c in main_components(calendar)}
    for kind in COMPONENTS:
        if kind not in kinds:
            continue
        recurring = any(
            c.get(name) is not None for c in calendar.walk(kind) for name in RECURRENCE_PROPERTIES
        ) or any(c.get("RECURRENCE-ID") is not None for c in calendar.walk(kind))
        for instance in instances(calendar, kind, time_range):
            for name in RECURRENCE_PROPERTIES:
                instance.pop(name, None)
            if recurring and instance.get("RECURRENCE-ID") is None:
                instance.add("RECURRENCE-ID", instance["DTSTART"].dt)
            if not recurring:
                instance.pop("RECURRENCE-ID", None)
            for name in TIME_PROPERTIES:
                _utc_property(instance, name)
            result.add_component(instance)
    return result


def limit_recurrence_set(calendar: icalendar.Calendar, time_range: TimeRange) -> icalendar.Calendar:
    """RFC 4791 §9.6.6: the master plus only the overridden instances that overlap."""
    result = icalendar.Calendar()
    for key, value in calendar.property_items(recursive=False)[1:-1]:
        result.add(key, value)
    component: Any
    for component in calendar.subcomponents:
        if component.get("RECURRENCE-ID") is not None:
            span = instance_span(component)
            recurrence, _ = to_utc(component["RECURRENCE-ID"].dt)
            hits = time_range.overlaps(recurrence, recurrence) or (
                span is not None and time_range.overlaps(span[0], span[1])
            )
            if not hits:
                continue
        result.add_component(component)
    return result
