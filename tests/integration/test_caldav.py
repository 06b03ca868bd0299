"""CalDAV end to end with the `caldav` client library against a real server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import unquote

import caldav
import pytest
from caldav.lib.error import DAVError

from tests.integration.dav_server import ALICE, BOB, PASSWORD, DAVServer, dav_server

__all__ = ["dav_server"]

SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:single-1
DTSTAMP:20240101T000000Z
DTSTART:20240305T090000Z
DTEND:20240305T100000Z
SUMMARY:Standup
END:VEVENT
END:VCALENDAR
"""

ALL_DAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:allday-1
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:20240320
DTEND;VALUE=DATE:20240321
SUMMARY:Holiday
END:VEVENT
END:VCALENDAR
"""

# Weekly on Mondays 10:00 Paris time from 2024-03-18 for 4 weeks; the DST switch on
# 2024-03-31 moves the UTC hour; one instance excluded, one moved.
RECURRING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Paris:20240318T100000
DTEND;TZID=Europe/Paris:20240318T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Paris:20240401T100000
SUMMARY:Weekly
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Paris:20240408T100000
DTSTART;TZID=Europe/Paris:20240408T150000
DTEND;TZID=Europe/Paris:20240408T160000
SUMMARY:Weekly (moved)
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:todo-1
DTSTAMP:20240101T000000Z
SUMMARY:Write report
DUE:20240310T170000Z
END:VTODO
END:VCALENDAR
"""


def client(server: DAVServer, user: str = ALICE) -> caldav.DAVClient:
    return caldav.DAVClient(url=f"{server.url}/dav/", username=user, password=PASSWORD)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _starts(events: list[caldav.CalendarObjectResource]) -> list[tuple[str, datetime]]:
    found = []
    for event in events:
        component = event.icalendar_component
        start = component["DTSTART"].dt
        if not isinstance(start, datetime):
            start = datetime(start.year, start.month, start.day, tzinfo=UTC)
        found.append((str(component["SUMMARY"]), start.astimezone(UTC)))
    return sorted(found, key=lambda item: item[1])


def scenario_events(server: DAVServer) -> None:
    with client(server) as dav:
        principal = dav.principal()
        home = principal.calendar_home_set
        assert unquote(str(home.url)).endswith(f"/dav/calendars/{ALICE}/")
        calendar = principal.make_calendar(name="Work", cal_id="work")
        assert any(str(c.url).endswith("/work/") for c in principal.calendars())
        for text in (SINGLE, ALL_DAY, RECURRING):
            calendar.save_event(text)

        march = calendar.search(start=utc(2024, 3, 1), end=utc(2024, 4, 1), event=True, expand=True)
        assert _starts(march) == [
            ("Standup", utc(2024, 3, 5, 9)),
            ("Weekly", utc(2024, 3, 18, 9)),  # CET: UTC+1
            ("Holiday", utc(2024, 3, 20)),  # a date, read as midnight
            ("Weekly", utc(2024, 3, 25, 9)),
        ]
        april = calendar.search(start=utc(2024, 4, 1), end=utc(2024, 5, 1), event=True, expand=True)
        # 04-01 is excluded (EXDATE), 04-08 moved to 15:00 CEST (13:00 UTC).
        assert _starts(april) == [("Weekly (moved)", utc(2024, 4, 8, 13))]
        assert calendar.search(start=utc(2024, 6, 1), end=utc(2024, 7, 1), event=True) == []


def scenario_sync_multiget_tasks(server: DAVServer) -> None:
    with client(server) as dav:
        calendar = dav.principal().make_calendar(name="Sync", cal_id="sync")
        first = calendar.save_event(SINGLE)
        second = calendar.save_event(ALL_DAY)
        initial = calendar.objects_by_sync_token(load_objects=False)
        assert len(list(initial)) == 2
        token = initial.sync_token

        fetched = calendar.calendar_multiget([first.url, second.url])
        assert {str(o.icalendar_component["UID"]) for o in fetched} == {"single-1", "allday-1"}

        second.delete()
        third = calendar.save_event(RECURRING.replace("weekly-1", "weekly-2"))
        changes = calendar.objects_by_sync_token(sync_token=token, load_objects=False)
        changed = {str(o.url).rsplit("/", 1)[-1] for o in changes}
        assert str(third.url).rsplit("/", 1)[-1] in changed
        assert str(second.url).rsplit("/", 1)[-1] in changed  # the deletion is reported
        assert str(first.url).rsplit("/", 1)[-1] not in changed
        again = calendar.objects_by_sync_token(sync_token=changes.sync_token, load_objects=False)
        assert list(again) == []

        task = calendar.save_todo(TODO)
        assert [str(t.icalendar_component["UID"]) for t in calendar.todos()] == ["todo-1"]
        task.complete()
        assert calendar.todos() == []  # completed ones are hidden by default
        done = calendar.todos(include_completed=True)
        assert str(done[0].icalendar_component["STATUS"]) == "COMPLETED"


def scenario_etag_conflict(server: DAVServer) -> None:
    with client(server) as dav:
        calendar = dav.principal().make_calendar(name="Etag", cal_id="etag")
        event = calendar.save_event(SINGLE)
        url = str(event.url)
        response = dav.request(url, "GET")
        etag = response.headers["ETag"]
        changed = SINGLE.replace("Standup", "Standup v2")
        ok = dav.request(url, "PUT", changed, {"If-Match": etag, "Content-Type": "text/calendar"})
        assert ok.status == 204
        stale = dav.request(url, "PUT", SINGLE, {"If-Match": etag, "Content-Type": "text/calendar"})
        assert stale.status == 412
        exists = dav.request(url, "PUT", SINGLE, {"If-None-Match": "*"})
        assert exists.status == 412


def scenario_other_user_sees_nothing(server: DAVServer) -> None:
    with client(server) as dav:
        calendar = dav.principal().make_calendar(name="Private", cal_id="private")
        calendar.save_event(SINGLE)
    with client(server, BOB) as dav:
        home = f"{server.url}/dav/calendars/{ALICE}/"
        for url in (home, home + "private/", home + "default/", home + "private/x.ics"):
            answer = dav.request(url, "PROPFIND", "", {"Depth": "1"})
            assert answer.status == 404, url
            assert (
                b"Standup" not in (answer.raw or b"").encode()
                if isinstance(answer.raw, str)
                else b"Standup" not in (answer.raw or b"")
            )
        with pytest.raises(DAVError):
            caldav.Calendar(client=dav, url=home + "private/").events()
        put = dav.request(home + "private/evil.ics", "PUT", SINGLE, {})
        assert put.status == 404


async def test_events_are_found_by_time_range_with_recurrence_expanded(
    dav_server: DAVServer,
) -> None:
    await asyncio.to_thread(scenario_events, dav_server)


async def test_sync_collection_multiget_and_tasks(dav_server: DAVServer) -> None:
    await asyncio.to_thread(scenario_sync_multiget_tasks, dav_server)


async def test_stale_if_match_gets_412(dav_server: DAVServer) -> None:
    await asyncio.to_thread(scenario_etag_conflict, dav_server)


async def test_another_user_cannot_read_list_or_guess_calendars(dav_server: DAVServer) -> None:
    await asyncio.to_thread(scenario_other_user_sees_nothing, dav_server)


async def test_server_expands_recurrence_and_answers_free_busy(dav_server: DAVServer) -> None:
    import httpx

    calendar = f"/dav/calendars/{ALICE}/default/"
    query = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
      <D:prop><D:getetag/><C:calendar-data>
        <C:expand start="20240401T000000Z" end="20240501T000000Z"/></C:calendar-data></D:prop>
      <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
        <C:time-range start="20240401T000000Z" end="20240501T000000Z"/>
      </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
    busy = """<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
      <C:time-range start="20240301T000000Z" end="20240501T000000Z"/></C:free-busy-query>"""
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, PASSWORD)) as http:
        assert (await http.get(calendar)).status_code == 200  # creates the default calendar
        put = await http.put(calendar + "weekly.ics", content=RECURRING)
        assert put.status_code == 201
        bad = await http.put(calendar + "bad.ics", content="BEGIN:VCALENDAR\r\nEND:VCALENDAR")
        assert bad.status_code == 403 and "valid-calendar-object-resource" in bad.text
        clash = await http.put(calendar + "other.ics", content=RECURRING)
        assert clash.status_code == 409 and "no-uid-conflict" in clash.text
        answer = await http.request("REPORT", calendar, content=query, headers={"Depth": "1"})
        assert answer.status_code == 207
        assert "RRULE" not in answer.text and "VTIMEZONE" not in answer.text
        assert "RECURRENCE-ID:20240408T080000Z" in answer.text
        assert "DTSTART:20240408T130000Z" in answer.text
        assert "RECURRENCE-ID:20240401" not in answer.text  # excluded by EXDATE
        freebusy = await http.request("REPORT", calendar, content=busy, headers={"Depth": "1"})
        assert freebusy.status_code == 200
        text = freebusy.text.replace("\r\n ", "")
        assert "20240318T090000Z/20240318T100000Z" in text
        assert "20240408T130000Z/20240408T140000Z" in text
        assert "20240401T080000Z" not in text  # the excluded instance is free
