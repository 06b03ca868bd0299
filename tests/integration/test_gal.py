"""The organisation address book (GAL) over CardDAV: listed in every user's home,
generated from the directory, read-only, queryable, and synced by state hash."""

from __future__ import annotations

import re

import httpx

from tests.integration.dav_server import ALICE, BOB, PASSWORD, DAVServer, dav_server
from tidings.calendar.gal import gal_uid
from tidings.model.directory import PrincipalKind

__all__ = ["dav_server"]

GAL = f"/dav/addressbooks/{ALICE}/gal/"
PROPS = """<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
<D:prop><D:resourcetype/><D:displayname/><D:getetag/><CS:getctag/><D:sync-token/>
<D:current-user-privilege-set/></D:prop></D:propfind>"""
QUERY = """<?xml version="1.0"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
  <C:filter><C:prop-filter name="KIND">
    <C:text-match match-type="equals">location</C:text-match>
  </C:prop-filter></C:filter>
</C:addressbook-query>"""


def sync_body(token: str) -> str:
    return f"""<?xml version="1.0"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""


def token_of(text: str) -> str:
    found = re.search(r"<D:sync-token>([^<]*)</D:sync-token>", text)
    assert found is not None
    return found.group(1)


async def populate(server: DAVServer) -> None:
    directory = server.store.directory
    room = await directory.create_principal(
        PrincipalKind.ROOM, "boardroom@example.test", display_name="Board room"
    )
    team = await directory.create_principal(
        PrincipalKind.GROUP, "team@example.test", display_name="Team"
    )
    await directory.add_member(team.id, server.bob.id)
    await directory.create_domain("other.test")
    await directory.create_principal(PrincipalKind.USER, "eve@other.test")
    assert room.id and team.id


def client(server: DAVServer, user: str = ALICE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, auth=(user, PASSWORD))


async def test_gal_is_listed_in_the_home_and_holds_the_domain(dav_server: DAVServer) -> None:
    await populate(dav_server)
    async with client(dav_server) as alice:
        home = await alice.request(
            "PROPFIND", f"/dav/addressbooks/{ALICE}/", content=PROPS, headers={"Depth": "1"}
        )
        assert f"<D:href>{GAL}</D:href>" in home.text
        assert "Organisation (example.test)" in home.text
        listing = await alice.request("PROPFIND", GAL, content=PROPS, headers={"Depth": "1"})
        assert listing.status_code == 207
        hrefs = re.findall(r"<D:href>([^<]*\.vcf)</D:href>", listing.text)
        assert len(hrefs) == 4  # alice, bob, the room and the group; not other.test
        gal_part = listing.text.split("</D:response>")[0]
        assert "<D:write-content />" not in gal_part and "<D:read />" in gal_part
        cards = [(await alice.get(h)).text for h in hrefs]
    everything = "".join(cards)
    assert "eve@other.test" not in everything
    room = next(c for c in cards if "boardroom@" in c)
    assert "KIND:location" in room and "FN:Board room" in room
    team = next(c for c in cards if "KIND:group" in c)
    assert f"MEMBER:mailto:{BOB}" in team
    bob = next(c for c in cards if f"EMAIL;TYPE=work:{BOB}" in c)
    assert f"UID:{gal_uid(dav_server.bob.id)}" in bob and "KIND:individual" in bob


async def test_gal_refuses_writes_and_other_users_paths(dav_server: DAVServer) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n"
    async with client(dav_server) as alice:
        assert (await alice.put(GAL + "x.vcf", content=card)).status_code == 403
        listing = await alice.request("PROPFIND", GAL, content=PROPS, headers={"Depth": "1"})
        first = re.findall(r"<D:href>([^<]*\.vcf)</D:href>", listing.text)[0]
        assert (await alice.delete(first)).status_code == 403
        assert (await alice.delete(GAL)).status_code == 403
        assert (await alice.request("MKCOL", GAL)).status_code == 403
    async with client(dav_server, BOB) as bob:
        answer = await bob.request("PROPFIND", GAL, content=PROPS)
        assert answer.status_code == 404


async def test_gal_answers_query_and_multiget(dav_server: DAVServer) -> None:
    await populate(dav_server)
    async with client(dav_server) as alice:
        found = await alice.request("REPORT", GAL, content=QUERY)
        assert found.status_code == 207
        assert "boardroom@" in found.text and f"EMAIL;TYPE=work:{ALICE}" not in found.text
        assert found.text.count("BEGIN:VCARD") == 1
        listing = await alice.request("PROPFIND", GAL, content=PROPS, headers={"Depth": "1"})
        hrefs = re.findall(r"<D:href>([^<]*\.vcf)</D:href>", listing.text)
        multiget = f"""<?xml version="1.0"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:prop><D:getetag/><C:address-data/></D:prop>
<D:href>{hrefs[0]}</D:href><D:href>{GAL}missing.vcf</D:href></C:addressbook-multiget>"""
        answer = await alice.request("REPORT", GAL, content=multiget)
    assert answer.status_code == 207
    assert answer.text.count("BEGIN:VCARD") == 1
    assert "404 Not Found" in answer.text


async def test_gal_sync_token_follows_the_directory(dav_server: DAVServer) -> None:
    async with client(dav_server) as alice:
        initial = await alice.request("REPORT", GAL, content=sync_body(""))
        assert initial.status_code == 207
        assert initial.text.count(".vcf</D:href>") == 2
        token = token_of(initial.text)
        again = await alice.request("REPORT", GAL, content=sync_body(token))
        assert ".vcf" not in again.text and token_of(again.text) == token
        await populate(dav_server)
        stale = await alice.request("REPORT", GAL, content=sync_body(token))
        # No change log for the directory: the client must start over.
        assert stale.status_code == 403 and "valid-sync-token" in stale.text
        fresh = await alice.request("REPORT", GAL, content=sync_body(""))
        assert fresh.text.count(".vcf</D:href>") == 4
        assert token_of(fresh.text) != token
