"""The DAV XML layer: safe parsing (entity bombs refused), request parsing, paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tidings.dav.paths import CollectionPath, ObjectPath, Root, parse_path
from tidings.dav.requests import parse_propfind, parse_report
from tidings.dav.xml import CALDAV, DAV, MalformedXML, parse_xml, tag

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<D:propfind xmlns:D="DAV:"><D:prop>&lol3;</D:prop></D:propfind>"""

EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<D:propfind xmlns:D="DAV:"><D:prop>&e;</D:prop></D:propfind>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, b"<unclosed>", b"\xff\xfe<"])
def test_xml_entity_expansion_and_garbage_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedXML):
        parse_xml(body)


def test_empty_propfind_means_allprop_and_prop_lists_names() -> None:
    assert parse_propfind(None).mode == "allprop"
    body = b'<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:displayname/></D:prop></D:propfind>'
    wanted = parse_propfind(parse_xml(body))
    assert wanted.names == (tag(DAV, "getetag"), tag(DAV, "displayname"))


def test_calendar_query_with_expand_and_time_range_parses() -> None:
    body = b"""<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
      <D:prop><C:calendar-data><C:expand start="20240101T000000Z" end="20240201T000000Z"/>
      </C:calendar-data></D:prop>
      <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
        <C:time-range start="20240101T000000Z" end="20240201T000000Z"/>
      </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
    report = parse_report(parse_xml(body))
    assert report.name == tag(CALDAV, "calendar-query")
    assert report.data is not None and report.data.expand is not None
    assert report.data.expand.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert report.calendar_filter is not None
    event = report.calendar_filter.comp_filters[0]
    assert event.name == "VEVENT" and event.time_range is not None


def test_bad_time_range_is_malformed() -> None:
    body = b"""<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
      <C:time-range start="yesterday"/></C:free-busy-query>"""
    with pytest.raises(MalformedXML):
        parse_report(parse_xml(body))


def test_paths_parse_and_refuse_traversal() -> None:
    assert parse_path("/dav/") == Root()
    assert isinstance(parse_path("/dav/calendars/a@b.c/work/"), CollectionPath)
    obj = parse_path("http://host/dav/addressbooks/a@b.c/contacts/x.vcf")
    assert isinstance(obj, ObjectPath) and obj.name == "x.vcf"
    assert parse_path("/dav/calendars/a@b.c/../x/") is None
    assert parse_path("/other/") is None
