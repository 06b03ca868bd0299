"""CardDAV end to end with httpx and raw XML: vCard 3 and 4, query, multiget, sync."""

from __future__ import annotations

import re

import httpx

from tests.integration.dav_server import ALICE, BOB, PASSWORD, DAVServer, dav_server

__all__ = ["dav_server"]

BOOK = f"/dav/addressbooks/{ALICE}/contacts/"
CARD3 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c3\r\nFN:Ada Lovelace\r\n"
    "N:Lovelace;Ada;;;\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n"
)
CARD4 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c4\r\nFN:Grace Hopper\r\n"
    "EMAIL:grace@example.org\r\nEND:VCARD\r\n"
)
QUERY = """<?xml version="1.0"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
  <C:filter><C:prop-filter name="EMAIL">
    <C:text-match collation="i;unicode-casemap" match-type="contains">GRACE@</C:text-match>
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


async def test_vcards_are_stored_queried_fetched_and_synced(dav_server: DAVServer) -> None:
    auth = (ALICE, PASSWORD)
    async with httpx.AsyncClient(base_url=dav_server.url, auth=auth) as http:
        home = await http.request("PROPFIND", f"/dav/addressbooks/{ALICE}/", headers={"Depth": "1"})
        assert home.status_code == 207 and "<CR:addressbook" in home.text
        start = await http.request("REPORT", BOOK, content=sync_body(""))
        assert start.status_code == 207
        token = token_of(start.text)

        for name, card in (("c3.vcf", CARD3), ("c4.vcf", CARD4)):
            put = await http.put(BOOK + name, content=card, headers={"If-None-Match": "*"})
            assert put.status_code == 201 and put.headers["ETag"].startswith('"')
        bad = await http.put(
            BOOK + "bad.vcf", content="BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n"
        )
        assert bad.status_code == 403 and "valid-address-data" in bad.text

        found = await http.request("REPORT", BOOK, content=QUERY, headers={"Depth": "1"})
        assert found.status_code == 207
        assert "Grace Hopper" in found.text and "Ada" not in found.text

        namespaces = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"'
        multiget = f"""<C:addressbook-multiget {namespaces}>
          <D:prop><C:address-data/></D:prop><D:href>{BOOK}c3.vcf</D:href>
          <D:href>{BOOK}missing.vcf</D:href></C:addressbook-multiget>"""
        got = await http.request("REPORT", BOOK, content=multiget)
        assert "VERSION:3.0" in got.text and "404 Not Found" in got.text

        changes = await http.request("REPORT", BOOK, content=sync_body(token))
        assert "c3.vcf" in changes.text and "c4.vcf" in changes.text
        assert (await http.delete(BOOK + "c3.vcf")).status_code == 204
        after = await http.request("REPORT", BOOK, content=sync_body(token_of(changes.text)))
        assert "c3.vcf" in after.text and "404 Not Found" in after.text
        assert "c4.vcf" not in after.text

        invalid = await http.request("REPORT", BOOK, content=sync_body("urn:tidings:sync:999999"))
        assert invalid.status_code == 403 and "valid-sync-token" in invalid.text


async def test_another_user_cannot_see_or_write_contacts(dav_server: DAVServer) -> None:
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, PASSWORD)) as http:
        assert (await http.put(BOOK + "c3.vcf", content=CARD3)).status_code == 201
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(BOB, PASSWORD)) as http:
        for method, path in (
            ("PROPFIND", f"/dav/addressbooks/{ALICE}/"),
            ("PROPFIND", BOOK),
            ("GET", BOOK + "c3.vcf"),
            ("REPORT", BOOK),
        ):
            body = sync_body("") if method == "REPORT" else ""
            answer = await http.request(method, path, content=body)
            assert answer.status_code == 404, (method, path)
            assert "Lovelace" not in answer.text
        assert (await http.put(BOOK + "x.vcf", content=CARD4)).status_code == 404
        assert (await http.delete(BOOK + "c3.vcf")).status_code == 404


async def test_discovery_needs_credentials_and_redirects(dav_server: DAVServer) -> None:
    async with httpx.AsyncClient(base_url=dav_server.url) as http:
        unauthenticated = await http.request("PROPFIND", "/dav/")
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["WWW-Authenticate"].startswith("Basic")
        wrong = await http.request("PROPFIND", "/dav/", auth=(ALICE, "nope"))
        assert wrong.status_code == 401
        for name in ("caldav", "carddav"):
            moved = await http.get(f"/.well-known/{name}")
            assert (moved.status_code, moved.headers["location"]) == (301, "/dav/")
        options = await http.options("/dav/")
        assert "calendar-access" in options.headers["DAV"]
        assert "addressbook" in options.headers["DAV"]
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<D:propfind xmlns:D="DAV:"><D:prop>&b;</D:prop></D:propfind>'
        )
        refused = await http.request("PROPFIND", "/dav/", content=bomb, auth=(ALICE, PASSWORD))
        assert refused.status_code == 400
