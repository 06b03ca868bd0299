"""A shortcut for the commonest calendar object: one non-recurring VEVENT with UTC
DTSTART and DTEND (RFC 4791 §9.9, §9.6.5).

For such an object the time-range test is a comparison of two instants and `expand`
changes nothing, so a REPORT can skip the iCalendar parser for it. Anything else
(recurrence, time zones, dates, DURATION, parameters, other components) answers
None and takes the general path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tidings.calendar.filters import CompFilter
from tidings.calendar.timerange import TimeRange

_FOLD = re.compile(r"\r?\n[ \t]")
_UTC = re.compile(r"^\d{8}T\d{6}Z$")
_ALLOWED = frozenset({"VCALENDAR", "VEVENT", "VALARM"})
_RECURRENCE = ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID")
# A cheap pre-check before looking at lines: any of these means the general path.
_MARKERS = ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "VTIMEZONE", "VTODO")


def plain_range(query: CompFilter | None) -> TimeRange | None:
    """The range of a VCALENDAR > VEVENT time-range filter with nothing else in it."""
    if query is None or query.name != "VCALENDAR" or query.is_not_defined:
        return None
    if query.prop_filters or len(query.comp_filters) != 1:
        return None
    child = query.comp_filters[0]
    if child.name != "VEVENT" or child.is_not_defined or child.prop_filters:
        return None
    if child.comp_filters or child.time_range is None:
        return None
    return child.time_range


def simple_event_span(data: str) -> tuple[datetime, datetime] | None:
    """(DTSTART, DTEND) of a one-VEVENT, non-recurring, all-UTC object; else None."""
    if any(marker in data for marker in _MARKERS):
        return None
    start = end = None
    events = 0
    for line in _FOLD.sub("", data).splitlines():
        name, _, value = line.partition(":")
        if name == "BEGIN":
            if value not in _ALLOWED:
                return None
            events += value == "VEVENT"
        elif name in ("DTSTART", "DTEND", "DURATION") or name.startswith(("DTSTART;", "DTEND;")):
            if name == "DURATION" or ";" in name or not _UTC.match(value):
                return None
            if name == "DTSTART":
                if start is not None:
                    return None  # a VALARM does not have one; two mean something odd
                start = _instant(value)
            else:
                end = _instant(value)
        elif name in _RECURRENCE:
            return None
    if events != 1 or start is None or end is None or end <= start:
        return None
    return start, end


def _instant(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
