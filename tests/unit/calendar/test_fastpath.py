"""The REPORT shortcut for simple events must agree with the general path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.calendar.fastpath import plain_range, simple_event_span
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
