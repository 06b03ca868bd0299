"""Shared calendars and address books over HTTP: the sharee's home set lists them at
the owner's href, privileges follow the level, and nothing leaks past the level."""

from __future__ import annotations

import asyncio

import caldav
import httpx

from tests.integration.dav_server import ALICE, BOB, PASSWORD, DAVServer, dav_server
from tidings.model.dav import CollectionKind, ShareLevel
from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId

__all__ = ["dav_server"]

CAL = f"/dav/calendars/{ALICE}/default/"
EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:secret-1\r\n"
    "DTSTAMP:20240101T000000Z\r\nDTSTART:20240305T090000Z\r\nDTEND:20240305T100000Z\r\n"
    "SUMMARY:Secret board meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
PRIVILEGES = """<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:current-user-privilege-set/><D:resourcetype/><D:owner/></D:prop></D:propfind>"""
FREE_BUSY = """<?xml version="1.0"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
<C:time-range start="20240305T000000Z" end="20240306T000000Z"/></C:free-busy-query>"""
QUERY = """<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>"""
MULTIGET = f"""<?xml version="1.0"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><C:calendar-data/></D:prop><D:href>{CAL}e.ics</D:href></C:calendar-multiget>"""


def client(server: DAVServer, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, auth=(user, PASSWORD))


async def share(server: DAVServer, kind: CollectionKind, level: ShareLevel | None) -> int:
    """Alice shares her default collection of `kind` with Bob; its id."""
    mine = await server.store.dav.list_collections(server.alice, AccountId(server.alice.id), kind)
    await server.store.dav.share_collection(server.alice, mine[0].id, server.bob.id, level)
    return mine[0].id


async def put_event(server: DAVServer) -> None:
    async with client(server, ALICE) as alice:
        assert (await alice.put(CAL + "e.ics", content=EVENT)).status_code == 201


async def test_unshared_calendar_cannot_be_read_listed_or_guessed(dav_server: DAVServer) -> None:
    await put_event(dav_server)
    async with client(dav_server, BOB) as bob:
        for method, path, body in [
            ("PROPFIND", f"/dav/calendars/{ALICE}/", PRIVILEGES),
            ("PROPFIND", CAL, PRIVILEGES),
            ("GET", CAL + "e.ics", ""),
            ("REPORT", CAL, QUERY),
            ("REPORT", CAL, FREE_BUSY),
            ("PUT", CAL + "new.ics", EVENT),
            ("GET", f"/dav/addressbooks/{ALICE}/contacts/", ""),
        ]:
            answer = await bob.request(method, path, content=body, headers={"Depth": "1"})
            assert answer.status_code == 404, (method, path)
            assert "Secret" not in answer.text
        home = await bob.request(
            "PROPFIND", f"/dav/calendars/{BOB}/", content=PRIVILEGES, headers={"Depth": "1"}
        )
    assert ALICE not in home.text


async def test_sharee_home_lists_the_shared_calendar_at_the_owner_href(
    dav_server: DAVServer,
) -> None:
    await share(dav_server, CollectionKind.CALENDAR, ShareLevel.READ)
    async with client(dav_server, BOB) as bob:
        home = await bob.request(
            "PROPFIND", f"/dav/calendars/{BOB}/", content=PRIVILEGES, headers={"Depth": "1"}
        )
    assert home.status_code == 207
    assert f"<D:href>{CAL}</D:href>" in home.text
    assert f"/dav/principals/{ALICE}/" in home.text  # DAV:owner names the real owner
    shared_part = home.text.split(f"<D:href>{CAL}</D:href>")[1].split("</D:response>")[0]
    assert "<D:read />" in shared_part and "<D:write-content />" not in shared_part
    # A real client finds it through discovery and reads it.
    await put_event(dav_server)

    def discover() -> tuple[set[str], list[str]]:
        principal = caldav.DAVClient(
            url=dav_server.url + "/dav/", username=BOB, password=PASSWORD
        ).principal()
        calendars = principal.calendars()
        shared = next(c for c in calendars if str(c.url.path) == CAL)
        summaries = [str(e.icalendar_component["SUMMARY"]) for e in shared.events()]
        return {str(c.url.path) for c in calendars}, summaries

    paths, summaries = await asyncio.to_thread(discover)
    assert CAL in paths
    assert summaries == ["Secret board meeting"]


async def test_free_busy_level_answers_free_busy_and_refuses_data(dav_server: DAVServer) -> None:
    await put_event(dav_server)
    await share(dav_server, CollectionKind.CALENDAR, ShareLevel.FREE_BUSY)
    async with client(dav_server, BOB) as bob:
        busy = await bob.request("REPORT", CAL, content=FREE_BUSY, headers={"Depth": "1"})
        assert busy.status_code == 200
        assert "FREEBUSY" in busy.text and "20240305T090000Z/20240305T100000Z" in busy.text
        assert "Secret" not in busy.text and "secret-1" not in busy.text
        listing = await bob.request("PROPFIND", CAL, content=PRIVILEGES, headers={"Depth": "1"})
        assert listing.status_code == 207
        assert "e.ics" not in listing.text
        assert "<C:read-free-busy />" in listing.text and "<D:read />" not in listing.text
        for method, path, body in [
            ("GET", CAL + "e.ics", ""),
            ("REPORT", CAL, QUERY),
            ("REPORT", CAL, MULTIGET),
            ("PUT", CAL + "e.ics", EVENT),
            ("DELETE", CAL + "e.ics", ""),
        ]:
            answer = await bob.request(method, path, content=body, headers={"Depth": "1"})
            assert answer.status_code == 403, (method, path)
            assert "Secret" not in answer.text


async def test_read_level_reads_and_refuses_writes(dav_server: DAVServer) -> None:
    await put_event(dav_server)
    await share(dav_server, CollectionKind.CALENDAR, ShareLevel.READ)
    async with client(dav_server, BOB) as bob:
        assert "Secret board meeting" in (await bob.get(CAL + "e.ics")).text
        assert "Secret board meeting" in (await bob.request("REPORT", CAL, content=QUERY)).text
        assert (
            await bob.put(CAL + "x.ics", content=EVENT.replace("secret-1", "x"))
        ).status_code == 403
        assert (await bob.delete(CAL + "e.ics")).status_code == 403
        assert (await bob.delete(CAL)).status_code == 403


async def test_read_write_level_edits_objects_but_not_the_collection(
    dav_server: DAVServer,
) -> None:
    await put_event(dav_server)
    await share(dav_server, CollectionKind.CALENDAR, ShareLevel.READ_WRITE)
    async with client(dav_server, BOB) as bob:
        listing = await bob.request("PROPFIND", CAL, content=PRIVILEGES)
        assert "<D:write-content />" in listing.text and "<D:write-acl />" not in listing.text
        other = EVENT.replace("secret-1", "bob-1")
        assert (await bob.put(CAL + "bob.ics", content=other)).status_code == 201
        assert (await bob.delete(CAL + "e.ics")).status_code == 204
        assert (await bob.delete(CAL)).status_code == 403
    async with client(dav_server, ALICE) as alice:
        assert (await alice.get(CAL + "bob.ics")).status_code == 200


async def test_manage_level_shows_every_privilege_and_may_delete(dav_server: DAVServer) -> None:
    await share(dav_server, CollectionKind.CALENDAR, ShareLevel.MANAGE)
    async with client(dav_server, BOB) as bob:
        listing = await bob.request("PROPFIND", CAL, content=PRIVILEGES)
        assert "<D:write-acl />" in listing.text and "<D:write />" in listing.text
        assert (await bob.delete(CAL)).status_code == 204


async def test_group_grant_shares_an_address_book_with_members(dav_server: DAVServer) -> None:
    team = await dav_server.store.directory.create_principal(
        PrincipalKind.GROUP, "team@example.test"
    )
    await dav_server.store.directory.add_member(team.id, dav_server.bob.id)
    books = await dav_server.store.dav.list_collections(
        dav_server.alice, AccountId(dav_server.alice.id), CollectionKind.ADDRESSBOOK
    )
    await dav_server.store.dav.share_collection(
        dav_server.alice, books[0].id, team.id, ShareLevel.READ
    )
    book = f"/dav/addressbooks/{ALICE}/contacts/"
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:k1\r\nFN:Kim\r\nEND:VCARD\r\n"
    async with client(dav_server, ALICE) as alice:
        assert (await alice.put(book + "k1.vcf", content=card)).status_code == 201
    async with client(dav_server, BOB) as bob:
        home = await bob.request(
            "PROPFIND", f"/dav/addressbooks/{BOB}/", content=PRIVILEGES, headers={"Depth": "1"}
        )
        assert f"<D:href>{book}</D:href>" in home.text
        assert "FN:Kim" in (await bob.get(book + "k1.vcf")).text
        assert (await bob.put(book + "k2.vcf", content=card.replace("k1", "k2"))).status_code == 403
