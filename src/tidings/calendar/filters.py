"""calendar-query filters (RFC 4791 §9.7) evaluated on a parsed calendar.

The `dav` package parses the XML into these values; nothing here knows XML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import icalendar

from tidings.calendar.ical import to_utc
from tidings.calendar.timerange import TimeRange, overlaps


@dataclass(frozen=True, slots=True)
class TextMatch:
    text: str
    collation: str = "i;ascii-casemap"
    negate: bool = False
    match_type: str = "contains"  # CardDAV adds equals, starts-with, ends-with

    def matches(self, value: str) -> bool:
        """RFC 4790 collations: i;octet is exact, i;ascii-casemap and i;unicode-casemap
        fold case."""
        needle, haystack = self.text, value
        if self.collation != "i;octet":
            needle, haystack = needle.casefold(), haystack.casefold()
        hit = {
            "equals": haystack == needle,
            "starts-with": haystack.startswith(needle),
            "ends-with": haystack.endswith(needle),
        }.get(self.match_type, needle in haystack)
        return hit != self.negate


@dataclass(frozen=True, slots=True)
class ParamFilter:
    name: str
    is_not_defined: bool = False
    text_match: TextMatch | None = None


@dataclass(frozen=True, slots=True)
class PropFilter:
    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    text_match: TextMatch | None = None
    param_filters: tuple[ParamFilter, ...] = ()
    test: str = "anyof"  # CardDAV: how text-match and param-filters combine


@dataclass(frozen=True, slots=True)
class CompFilter:
    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    prop_filters: tuple[PropFilter, ...] = ()
    comp_filters: tuple[CompFilter, ...] = field(default=())


def calendar_matches(calendar: icalendar.Calendar, query: CompFilter) -> bool:
    """The top-level comp-filter names VCALENDAR (§9.7.1)."""
    if query.name != calendar.name:
        return query.is_not_defined
    return _children_match(calendar, calendar, query)


def _children_match(root: icalendar.Calendar, component: Any, query: CompFilter) -> bool:
    if not all(_prop_matches(component, p) for p in query.prop_filters):
        return False
    return all(_comp_matches(root, component, child) for child in query.comp_filters)


def _comp_matches(root: icalendar.Calendar, parent: Any, query: CompFilter) -> bool:
    candidates = [c for c in parent.subcomponents if c.name == query.name]
    if query.is_not_defined:
        return not candidates
    if not candidates:
        return False
    if query.time_range is not None:
        if parent is root:
            # Recurrence: the range is tested against every instance of the series.
            if not overlaps(root, query.name, query.time_range):
                return False
        elif not any(_alarm_overlaps(c, query.time_range) for c in candidates):
            return False
    return any(_children_match(root, c, query) for c in candidates)


def _alarm_overlaps(component: Any, time_range: TimeRange) -> bool:
    trigger = component.get("TRIGGER")
    if trigger is None or not isinstance(trigger.dt, datetime):
        return True  # a relative trigger: keep the object (a superset is allowed)
    when, _ = to_utc(trigger.dt)
    return time_range.overlaps(when, when)


def _values(component: Any, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _prop_matches(component: Any, query: PropFilter) -> bool:
    values = _values(component, query.name)
    if query.is_not_defined:
        return not values
    if not values:
        return False
    return any(_value_matches(value, query) for value in values)


def _value_matches(value: Any, query: PropFilter) -> bool:
    if query.time_range is not None:
        moment = getattr(value, "dt", None)
        if moment is None:
            return False
        when, _ = to_utc(moment)
        if not query.time_range.overlaps(when, when):
            return False
    if query.text_match is not None and not query.text_match.matches(_text(value)):
        return False
    return all(_param_matches(value, p) for p in query.param_filters)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return str(value)
    try:
        return str(value.to_ical().decode())
    except AttributeError:
        return str(value)


def _param_matches(value: Any, query: ParamFilter) -> bool:
    params = getattr(value, "params", {})
    present = query.name in params
    if query.is_not_defined:
        return not present
    if not present:
        return False
    return query.text_match is None or query.text_match.matches(str(params[query.name]))
