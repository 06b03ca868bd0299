"""Index bounds, RFC 4791 §9.9 overlap, expand and free/busy on RFC-style examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tidings.calendar.filters import CompFilter, PropFilter, TextMatch, calendar_matches
from tidings.calendar.freebusy import busy_periods
from tidings.calendar.ical import FAR_FUTURE, index_calendar, parse_calendar
from tidings.calendar.timerange import TimeRange, expand, overlaps
from tidings.calendar.vcard import parse_vcard
from tidings.model.errors import InvalidInput


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def event(body: str, uid: str = "e1") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


DAILY = event("DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nRRULE:FREQ=DAILY\r\n")
COUNTED = event(
    "DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
    "EXDATE:20240102T100000Z\r\n"
)


def test_open_ended_rule_is_indexed_to_the_far_future() -> None:
    index = index_calendar(DAILY, frozenset())
    assert (index.first_start, index.last_end) == (utc(2024, 1, 1, 10), FAR_FUTURE)


def test_counted_rule_is_indexed_to_its_last_instance() -> None:
    index = index_calendar(COUNTED, frozenset())
    assert (index.first_start, index.last_end) == (utc(2024, 1, 1, 10), utc(2024, 1, 3, 11))


def test_undated_task_has_no_bounds_and_overlaps_every_range() -> None:
    todo = DAILY.replace("VEVENT", "VTODO").split("DTSTART")[0] + "END:VTODO\r\nEND:VCALENDAR\r\n"
    index = index_calendar(todo, frozenset())
    assert (index.component, index.first_start, index.last_end) == ("VTODO", None, None)
    assert overlaps(parse_calendar(todo), "VTODO", TimeRange(utc(2030, 1, 1), utc(2030, 1, 2)))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not a calendar", "valid-calendar-data"),
        (
            event("DTSTART:20240101T100000Z\r\n").replace("UID:e1\r\n", ""),
            "valid-calendar-object-resource",
        ),
        (
            event("DTSTART:20240101T100000Z\r\n").replace(
                "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:other\r\nEND:VEVENT\r\nEND:VCALENDAR"
            ),
            "valid-calendar-object-resource",
        ),
    ],
)
def test_invalid_objects_name_their_precondition(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        index_calendar(text, frozenset())
    assert raised.value.field == field


def test_component_outside_the_calendar_set_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        index_calendar(DAILY, frozenset({"VTODO"}))
    assert raised.value.field == "supported-calendar-component"


def test_overlap_follows_rfc4791_table() -> None:
    cal = parse_calendar(COUNTED)
    assert overlaps(cal, "VEVENT", TimeRange(utc(2024, 1, 3, 10, 30), utc(2024, 1, 3, 10, 45)))
    # The excluded instance does not count; the range ends where an instance begins.
    assert not overlaps(cal, "VEVENT", TimeRange(utc(2024, 1, 2), utc(2024, 1, 3, 10)))
    assert not overlaps(cal, "VEVENT", TimeRange(utc(2024, 1, 1, 11), utc(2024, 1, 2)))


def test_expand_gives_one_utc_instance_per_occurrence_with_recurrence_id() -> None:
    expanded = expand(parse_calendar(COUNTED), TimeRange(utc(2024, 1, 1), utc(2024, 2, 1)))
    instances = list(expanded.walk("VEVENT"))
    assert [i["DTSTART"].dt for i in instances] == [utc(2024, 1, 1, 10), utc(2024, 1, 3, 10)]
    assert [i["RECURRENCE-ID"].dt for i in instances] == [utc(2024, 1, 1, 10), utc(2024, 1, 3, 10)]
    assert all("RRULE" not in i and "EXDATE" not in i for i in instances)


def test_filters_match_text_and_properties() -> None:
    cal = parse_calendar(event("DTSTART:20240101T100000Z\r\nSUMMARY:Budget review\r\n"))
    summary = PropFilter("SUMMARY", text_match=TextMatch("BUDGET"))
    query = CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", prop_filters=(summary,)),))
    assert calendar_matches(cal, query)
    negated = PropFilter("SUMMARY", text_match=TextMatch("budget", negate=True))
    query = CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", prop_filters=(negated,)),))
    assert not calendar_matches(cal, query)
    missing = CompFilter("VCALENDAR", comp_filters=(CompFilter("VTODO"),))
    assert not calendar_matches(cal, missing)


def test_free_busy_skips_transparent_and_cancelled_and_merges() -> None:
    calendars = [
        parse_calendar(event("DTSTART:20240101T100000Z\r\nDTEND:20240101T120000Z\r\n", "a")),
        parse_calendar(event("DTSTART:20240101T110000Z\r\nDTEND:20240101T130000Z\r\n", "b")),
        parse_calendar(
            event("DTSTART:20240101T150000Z\r\nDTEND:20240101T160000Z\r\nTRANSP:TRANSPARENT\r\n")
        ),
        parse_calendar(
            event("DTSTART:20240101T170000Z\r\nDTEND:20240101T180000Z\r\nSTATUS:CANCELLED\r\n")
        ),
        parse_calendar(
            event("DTSTART:20240101T190000Z\r\nDTEND:20240101T200000Z\r\nSTATUS:TENTATIVE\r\n")
        ),
    ]
    periods = busy_periods(calendars, TimeRange(utc(2024, 1, 1), utc(2024, 1, 2)))
    assert periods["BUSY"] == [(utc(2024, 1, 1, 10), utc(2024, 1, 1, 13))]
    assert periods["BUSY-TENTATIVE"] == [(utc(2024, 1, 1, 19), utc(2024, 1, 1, 20))]


def test_vcard_needs_version_uid_and_fn() -> None:
    card = parse_vcard("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nFN:A\r\n B\r\nEND:VCARD\r\n")
    assert (card.uid, card.fn) == ("u", "AB")
    for broken in (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:u\r\nFN:A\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nEND:VCARD\r\n",
    ):
        with pytest.raises(InvalidInput):
            parse_vcard(broken)
