"""Free/busy time from events (RFC 4791 §7.10, RFC 5545 §3.6.4): opaque, not
cancelled instances; TENTATIVE ones as BUSY-TENTATIVE; merged periods in UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import icalendar

from tidings.calendar.ical import instance_span
from tidings.calendar.timerange import TimeRange, instances

Period = tuple[datetime, datetime]


def busy_periods(
    calendars: Sequence[icalendar.Calendar], time_range: TimeRange, attendee: str | None = None
) -> dict[str, list[Period]]:
    """Busy periods by FBTYPE (BUSY, BUSY-TENTATIVE), clipped to the range and merged.
    With `attendee` (a bare address), events they declined are free and those they have
    not answered or accepted tentatively are BUSY-TENTATIVE (RFC 6638 §3.2.8)."""
    found: dict[str, list[Period]] = {"BUSY": [], "BUSY-TENTATIVE": []}
    assert time_range.start is not None and time_range.end is not None
    for calendar in calendars:
        for instance in instances(calendar, "VEVENT", time_range):
            if str(instance.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            status = str(instance.get("STATUS", "CONFIRMED")).upper()
            if status == "CANCELLED":
                continue
            span = instance_span(instance)
            if span is None or span[0] == span[1]:
                continue
            start, end = max(span[0], time_range.start), min(span[1], time_range.end)
            kind = "BUSY-TENTATIVE" if status == "TENTATIVE" else "BUSY"
            answer = _partstat(instance, attendee) if attendee is not None else None
            if answer == "DECLINED":
                continue
            if answer in ("NEEDS-ACTION", "TENTATIVE"):
                kind = "BUSY-TENTATIVE"
            found[kind].append((start, end))
    return {kind: merge(periods) for kind, periods in found.items()}


def _partstat(instance: Any, attendee: str) -> str | None:
    attendees = instance.get("ATTENDEE")
    for value in attendees if isinstance(attendees, list) else [attendees]:
        if value is not None and str(value).lower().removeprefix("mailto:") == attendee:
            return str(value.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def merge(periods: list[Period]) -> list[Period]:
    merged: list[Period] = []
    for start, end in sorted(periods):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def free_busy(calendars: Sequence[icalendar.Calendar], time_range: TimeRange) -> str:
    """A VCALENDAR with one VFREEBUSY."""
    assert time_range.start is not None and time_range.end is not None
    result = icalendar.Calendar()
    result.add("VERSION", "2.0")
    result.add("PRODID", "-//Tidings//CalDAV//EN")
    component = icalendar.FreeBusy()
    component.add("DTSTAMP", datetime.now(UTC))
    component.add("DTSTART", time_range.start)
    component.add("DTEND", time_range.end)
    for kind, periods in busy_periods(calendars, time_range).items():
        for period in periods:
            component.add("FREEBUSY", [period], parameters={"FBTYPE": kind})
    result.add_component(component)
    return str(result.to_ical().decode())
