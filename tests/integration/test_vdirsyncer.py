"""A real two-way sync with vdirsyncer (PyPI) of a calendar and an address book:
changes on both sides, synced again, nothing lost (CLIENTS.md)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.dav_server import ALICE, PASSWORD, DAVServer, dav_server

__all__ = ["dav_server"]

VDIRSYNCER = Path(sys.executable).parent / "vdirsyncer"
CAL = f"/dav/calendars/{ALICE}/default/"
BOOK = f"/dav/addressbooks/{ALICE}/contacts/"

pytestmark = pytest.mark.skipif(
    not VDIRSYNCER.exists() and shutil.which("vdirsyncer") is None,
    reason="vdirsyncer is not installed (pip install -e '.[test]')",
)


def event(uid: str, summary: str, day: int = 10) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:202506{day:02d}T090000Z\r\n"
        f"DTEND:202506{day:02d}T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def card(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


def config(root: Path, url: str) -> Path:
    text = f"""[general]
status_path = "{root}/status/"

[pair calendar]
a = "calendar_local"
b = "calendar_remote"
collections = ["default"]
conflict_resolution = "b wins"

[storage calendar_local]
type = "filesystem"
path = "{root}/calendars/"
fileext = ".ics"

[storage calendar_remote]
type = "caldav"
url = "{url}/dav/"
username = "{ALICE}"
password = "{PASSWORD}"

[pair contacts]
a = "contacts_local"
b = "contacts_remote"
collections = ["contacts"]
conflict_resolution = "b wins"

[storage contacts_local]
type = "filesystem"
path = "{root}/contacts/"
fileext = ".vcf"

[storage contacts_remote]
type = "carddav"
url = "{url}/dav/"
username = "{ALICE}"
password = "{PASSWORD}"
"""
    path = root / "config"
    path.write_text(text)
    return path


async def vdirsyncer(cfg: Path, *args: str) -> str:
    program = str(VDIRSYNCER) if VDIRSYNCER.exists() else "vdirsyncer"
    process = await asyncio.create_subprocess_exec(
        program,
        "-c",
        str(cfg),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(b"y\n" * 20), timeout=90)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "error" not in text.lower(), text
    return text


def local_texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file()}


async def server_texts(client: httpx.AsyncClient, collection: str) -> list[str]:
    listing = await client.request("PROPFIND", collection, headers={"Depth": "1"})
    hrefs = [h for h in listing.text.split("<D:href>")[1:] if h.split("</D:href>")[0] != collection]
    return [(await client.get(h.split("</D:href>")[0])).text for h in hrefs]


async def test_two_way_sync_keeps_changes_from_both_sides(
    dav_server: DAVServer, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, PASSWORD)) as alice:
        await alice.request("PROPFIND", f"/dav/calendars/{ALICE}/", headers={"Depth": "1"})
        await alice.request("PROPFIND", f"/dav/addressbooks/{ALICE}/", headers={"Depth": "1"})
        for uid, summary in (("e1", "Kick-off"), ("e2", "Retro")):
            assert (await alice.put(f"{CAL}{uid}.ics", content=event(uid, summary))).is_success
        for uid, name in (("c1", "Ada"), ("c2", "Grace")):
            assert (await alice.put(f"{BOOK}{uid}.vcf", content=card(uid, name))).is_success

        cfg = config(tmp_path, dav_server.url)
        await vdirsyncer(cfg, "discover")
        await vdirsyncer(cfg, "sync")
        calendar, contacts = tmp_path / "calendars" / "default", tmp_path / "contacts" / "contacts"
        assert sorted("Kick-off" in t or "Retro" in t for t in local_texts(calendar).values()) == [
            True,
            True,
        ]
        assert len(local_texts(contacts)) == 2

        # Server side: change e1, delete e2, add e3 and c3.
        await alice.put(f"{CAL}e1.ics", content=event("e1", "Kick-off (moved)", 11))
        await alice.delete(f"{CAL}e2.ics")
        await alice.put(f"{CAL}e3.ics", content=event("e3", "Planning", 12))
        await alice.put(f"{BOOK}c3.vcf", content=card("c3", "Hedy"))
        # Local side: add an event, change c1, delete c2.
        (calendar / "local-1.ics").write_text(event("local-1", "Written offline", 13))
        for name, text in local_texts(contacts).items():
            if "UID:c1" in text:
                (contacts / name).write_text(text.replace("FN:Ada", "FN:Ada Lovelace"))
            if "UID:c2" in text:
                (contacts / name).unlink()

        await vdirsyncer(cfg, "sync")

        events = "".join(await server_texts(alice, CAL))
        assert "Kick-off (moved)" in events and "Planning" in events
        assert "Written offline" in events and "Retro" not in events
        cards = "".join(await server_texts(alice, BOOK))
        assert "FN:Ada Lovelace" in cards and "Hedy" in cards and "Grace" not in cards
        mine = "".join(local_texts(calendar).values())
        assert "Kick-off (moved)" in mine and "Planning" in mine and "Retro" not in mine
        assert "Hedy" in "".join(local_texts(contacts).values())

        # A third sync finds nothing to do and loses nothing.
        before = sorted(local_texts(calendar).values()), sorted(local_texts(contacts).values())
        await vdirsyncer(cfg, "sync")
        after = sorted(local_texts(calendar).values()), sorted(local_texts(contacts).values())
        assert before == after
        assert len(await server_texts(alice, CAL)) == 3
        assert len(await server_texts(alice, BOOK)) == 2
