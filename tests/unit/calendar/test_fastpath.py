"""The REPORT shortcut for simple events must agree with the general path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.calendar.fastpath import plain_range, simple_event, simple_event_span
from tidings.calendar.filters import CompFilter, PropFilter
from tidings.calendar.ical import parse_calendar
from tidings.calendar.timerange import TimeRange, expand, overlaps

BASE = datetime(2025, 6, 1, tzinfo=UTC)


def event(lines: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:f1\r\n"
        f"DTSTAMP:20250101T000000Z\r\n{lines}SUMMARY:Fast\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def utc_text(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


@pytest.mark.parametrize(
    "lines",
    [
        "DTSTART:20250601T090000Z\r\nDTEND:20250601T100000Z\r\nRRULE:FREQ=DAILY;COUNT=2\r\n",
        "DTSTART;TZID=Europe/Paris:20250601T090000\r\nDTEND;TZID=Europe/Paris:20250601T100000\r\n",
        "DTSTART;VALUE=DATE:20250601\r\nDTEND;VALUE=DATE:20250602\r\n",
        "DTSTART:20250601T090000\r\nDTEND:20250601T100000\r\n",  # floating
        "DTSTART:20250601T090000Z\r\nDURATION:PT1H\r\n",
        "DTSTART:20250601T090000Z\r\n",
        "DTSTART:20250601T100000Z\r\nDTEND:20250601T100000Z\r\n",  # zero length
        "DTSTART:20250601T090000Z\r\nDTEND:20250601T100000Z\r\nEXDATE:20250601T090000Z\r\n",
    ],
)
def test_anything_but_a_plain_utc_event_takes_the_general_path(lines: str) -> None:
    assert simple_event_span(event(lines)) is None


def test_two_events_in_one_object_take_the_general_path() -> None:
    one = event("DTSTART:20250601T090000Z\r\nDTEND:20250601T100000Z\r\n")
    two = one.replace("END:VCALENDAR", "BEGIN:VEVENT\r\nUID:f1\r\nEND:VEVENT\r\nEND:VCALENDAR")
    assert simple_event_span(two) is None


def test_folded_lines_are_read() -> None:
    text = event("DTSTART:20250601T0900\r\n 00Z\r\nDTEND:20250601T100000Z\r\n")
    assert simple_event_span(text) == (BASE + timedelta(hours=9), BASE + timedelta(hours=10))


def test_only_a_bare_vevent_time_range_filter_is_plain() -> None:
    ranged = TimeRange(BASE, BASE + timedelta(days=1))
    vevent = CompFilter("VEVENT", time_range=ranged)
    assert plain_range(CompFilter("VCALENDAR", comp_filters=(vevent,))) == ranged
    with_prop = CompFilter("VEVENT", time_range=ranged, prop_filters=(PropFilter("SUMMARY"),))
    assert plain_range(CompFilter("VCALENDAR", comp_filters=(with_prop,))) is None
    todo = CompFilter("VTODO", time_range=ranged)
    assert plain_range(CompFilter("VCALENDAR", comp_filters=(todo,))) is None
    assert plain_range(CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT"),))) is None


@given(
    start=st.integers(-72, 72),
    length=st.integers(1, 48),
    query_start=st.integers(-72, 72),
    query_length=st.integers(1, 96),
)
def test_shortcut_agrees_with_the_general_path(
    start: int, length: int, query_start: int, query_length: int
) -> None:
    began = BASE + timedelta(hours=start)
    text = event(
        f"DTSTART:{utc_text(began)}\r\nDTEND:{utc_text(began + timedelta(hours=length))}\r\n"
    )
    span = simple_event_span(text)
    assert span is not None
    window = TimeRange(
        BASE + timedelta(hours=query_start), BASE + timedelta(hours=query_start + query_length)
    )
    calendar = parse_calendar(text)
    assert window.overlaps(*span) == overlaps(calendar, "VEVENT", window)
    if window.overlaps(*span):
        # Expanding a single UTC instance gives back the same event.
        [instance] = expand(calendar, window).walk("VEVENT")
        assert instance["DTSTART"].dt == span[0] and instance["DTEND"].dt == span[1]
        assert instance.get("RECURRENCE-ID") is None


RULES = [
    "FREQ=DAILY;COUNT=10",
    "FREQ=WEEKLY;COUNT=20",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20251231T235959Z",
    "FREQ=MONTHLY;COUNT=12",
    "FREQ=DAILY;INTERVAL=3",  # open-ended
    "FREQ=HOURLY;INTERVAL=7;COUNT=50",
]


def instance_keys(calendar_text: str) -> list[tuple[datetime, datetime, datetime | None, str]]:
    found = []
    for component in parse_calendar(calendar_text).walk("VEVENT"):
        recurrence = component.get("RECURRENCE-ID")
        found.append(
            (
                component["DTSTART"].dt,
                component["DTEND"].dt,
                recurrence.dt if recurrence is not None else None,
                str(component["SUMMARY"]),
            )
        )
    return sorted(found, key=lambda k: k[0])


@given(
    rule=st.sampled_from(RULES),
    day=st.integers(0, 6),
    hour=st.integers(0, 23),
    length=st.integers(1, 30),
    query_start=st.integers(-200, 400),
    query_hours=st.integers(1, 24 * 40),
)
def test_recurring_shortcut_agrees_with_the_general_path(
    rule: str, day: int, hour: int, length: int, query_start: int, query_hours: int
) -> None:
    began = datetime(2025, 6, 2 + day, hour, tzinfo=UTC)  # 2025-06-02 is a Monday
    if "BYDAY" in rule:
        began = began.replace(day=2 + 2 * (day % 3))  # start on a rule day
    text = event(
        f"DTSTART:{utc_text(began)}\r\nDTEND:{utc_text(began + timedelta(hours=length))}\r\n"
        f"RRULE:{rule}\r\n"
    )
    simple = simple_event(text)
    assert simple is not None and simple.rule == rule
    window = TimeRange(
        BASE + timedelta(hours=query_start), BASE + timedelta(hours=query_start + query_hours)
    )
    spans = simple.spans(window)
    assert spans is not None
    calendar = parse_calendar(text)
    assert bool(spans) == overlaps(calendar, "VEVENT", window)
    fast = simple.expanded(window)
    assert fast is not None
    general = expand(calendar, window).to_ical().decode()
    assert instance_keys(fast) == instance_keys(general)


def test_a_dtstart_outside_its_rule_takes_the_general_path() -> None:
    # 2025-06-03 is a Tuesday: RFC 5545 leaves this recurrence set undefined.
    text = event(
        "DTSTART:20250603T090000Z\r\nDTEND:20250603T100000Z\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=5\r\n"
    )
    simple = simple_event(text)
    assert simple is not None
    assert simple.spans(TimeRange(BASE, BASE + timedelta(days=30))) is None
