"""Object properties (getlastmodified, getcontentlength) and DAV:limit on
calendar-query (RFC 4918 §15, RFC 5323 §5.17)."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import httpx

from tests.integration.dav_server import ALICE, PASSWORD, DAVServer, dav_server

__all__ = ["dav_server"]

CAL = f"/dav/calendars/{ALICE}/default/"


def event(uid: str, day: int) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:202403{day:02d}T090000Z\r\n"
        f"DTEND:202403{day:02d}T100000Z\r\nSUMMARY:Event {uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def test_objects_have_content_length_and_last_modified(dav_server: DAVServer) -> None:
    body = event("p1", 5)
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, PASSWORD)) as alice:
        assert (await alice.put(CAL + "p1.ics", content=body)).status_code == 201
        answer = await alice.request(
            "PROPFIND",
            CAL + "p1.ics",
            content="""<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>""",
        )
    assert answer.status_code == 207
    length = re.search(r"<D:getcontentlength>(\d+)</D:getcontentlength>", answer.text)
    assert length is not None and int(length.group(1)) == len(body.encode())
    modified = re.search(r"<D:getlastmodified>([^<]+)</D:getlastmodified>", answer.text)
    assert modified is not None
    assert parsedate_to_datetime(modified.group(1)).tzinfo is not None


async def test_calendar_query_limit_truncates_and_says_so(dav_server: DAVServer) -> None:
    query = """<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>
<D:limit><D:nresults>2</D:nresults></D:limit></C:calendar-query>"""
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, PASSWORD)) as alice:
        for day in range(1, 6):
            await alice.put(CAL + f"e{day}.ics", content=event(f"e{day}", day))
        limited = await alice.request("REPORT", CAL, content=query, headers={"Depth": "1"})
        unlimited = await alice.request(
            "REPORT",
            CAL,
            content=query.replace("<D:limit><D:nresults>2</D:nresults></D:limit>", ""),
        )
    assert limited.status_code == 207
    assert limited.text.count("<D:getetag>") == 2
    assert "507 Insufficient Storage" in limited.text
    assert unlimited.text.count("<D:getetag>") == 5
    assert "507" not in unlimited.text
