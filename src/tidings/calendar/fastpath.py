"""A shortcut for the commonest calendar objects: one VEVENT with UTC DTSTART and
DTEND, alone or repeated by one RRULE (RFC 4791 §9.9, §9.6.5; RFC 5545 §3.8.5.3).

For such an object the time-range test and `expand` need neither the iCalendar
parser nor recurring-ical-events: the instants come from the text and the rule from
dateutil. Anything else (time zones, dates, DURATION, RDATE, EXDATE, overridden
instances, a DTSTART the rule does not produce, other components) answers None and
takes the general path, which stays the reference (tests/unit/calendar/test_fastpath).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from dateutil.rrule import rrule, rrulestr

from tidings.calendar.filters import CompFilter
from tidings.calendar.timerange import TimeRange

_FOLD = re.compile(r"\r?\n[ \t]")
_UTC = re.compile(r"^\d{8}T\d{6}Z\Z")
_ALLOWED = frozenset({"VCALENDAR", "VEVENT", "VALARM"})
_REFUSED = frozenset({"RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "DURATION"})
# A cheap pre-check before looking at lines: any of these means the general path.
_MARKERS = ("RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "VTIMEZONE", "VTODO", "VJOURNAL")
_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class SimpleEvent:
    """The parts of a simple event that time ranges need."""

    start: datetime
    end: datetime
    rule: str | None  # the RRULE value
    head: tuple[str, ...]  # VCALENDAR lines before the VEVENT
    body: tuple[str, ...]  # the VEVENT's lines between BEGIN and END (unfolded)

    def spans(self, window: TimeRange) -> list[tuple[datetime, datetime]] | None:
        """Every instance overlapping `window`; None when the rule cannot be walked
        here (the general path decides)."""
        length = self.end - self.start
        if self.rule is None:
            return [(self.start, self.end)] if window.overlaps(self.start, self.end) else []
        if window.end is None:
            return None
        series = _series(self.rule, self.start)
        if series is None:
            return None
        low = (window.start or self.start) - length
        starts = series.between(low, window.end, inc=True)
        return [(s, s + length) for s in starts if window.overlaps(s, s + length)]

    def expanded(self, window: TimeRange) -> str | None:
        """RFC 4791 §9.6.5 calendar-data for `window`; None to take the general path."""
        spans = self.spans(window)
        if spans is None:
            return None
        lines = list(self.head)
        for start, end in spans:
            lines.append("BEGIN:VEVENT")
            for line in self.body:
                name = line.partition(":")[0]
                if name == "DTSTART":
                    line = f"DTSTART:{start.strftime(_FORMAT)}"
                elif name == "DTEND":
                    line = f"DTEND:{end.strftime(_FORMAT)}"
                elif name == "RRULE":
                    line = f"RECURRENCE-ID:{start.strftime(_FORMAT)}"
                lines.append(line)
            lines.append("END:VEVENT")
        lines.append("END:VCALENDAR")
        return "\r\n".join(lines) + "\r\n"


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


def simple_event(data: str) -> SimpleEvent | None:
    """The object as a SimpleEvent when it is one; else None."""
    if any(marker in data for marker in _MARKERS):
        return None
    head: list[str] = []
    body: list[str] = []
    fields: dict[str, str] = {}
    events = depth = 0
    closed = False  # the VEVENT has ended: only END:VCALENDAR may follow
    for line in _FOLD.sub("", data).splitlines():
        name, _, value = line.partition(":")
        base = name.partition(";")[0]
        if closed and line != "END:VCALENDAR":
            return None
        if base == "BEGIN":
            if value not in _ALLOWED:
                return None
            depth += 1
            events += value == "VEVENT"
            if value == "VEVENT":
                continue
        elif base == "END":
            depth -= 1
            closed = value == "VEVENT"
            if value in ("VEVENT", "VCALENDAR"):
                continue
        if events == 0:
            head.append(line)
            continue
        body.append(line)
        if depth != 2:
            continue  # inside a VALARM
        if base in _REFUSED or (base in ("DTSTART", "DTEND", "RRULE") and base in fields):
            return None
        if base in ("DTSTART", "DTEND"):
            if name != base or not _UTC.match(value):
                return None
            fields[base] = value
        elif base == "RRULE":
            fields[base] = value
    if events != 1 or "DTSTART" not in fields or "DTEND" not in fields:
        return None
    start, end = _instant(fields["DTSTART"]), _instant(fields["DTEND"])
    if end <= start:
        return None
    return SimpleEvent(start, end, fields.get("RRULE"), tuple(head), tuple(body))


def simple_event_span(data: str) -> tuple[datetime, datetime] | None:
    """(DTSTART, DTEND) of a one-VEVENT, non-recurring, all-UTC object; else None."""
    event = simple_event(data)
    if event is None or event.rule is not None:
        return None
    return event.start, event.end


def _series(rule: str, start: datetime) -> rrule | None:
    """The rule from DTSTART, if DTSTART is its first instance (RFC 5545 leaves any
    other DTSTART undefined; the general path has its own answer for that)."""
    try:
        series = rrulestr(rule, dtstart=start)
    except (ValueError, TypeError):
        return None
    if not isinstance(series, rrule):
        return None
    first = next(iter(series), None)
    return series if first == start else None


def _instant(value: str) -> datetime:
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)
