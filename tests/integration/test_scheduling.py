"""RFC 6638 scheduling end to end: the `caldav` library and httpx against a real server
(invitations, a room's booking policy, replies, iMIP out and in, cancellation, and
free/busy through the schedule outbox)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote

import caldav
import httpx
import icalendar

from tests.integration.scheduling_env import (
    ALICE,
    BOB,
    CAROL,
    EXTERNAL,
    PASSWORD,
    ROOM,
    SchedulingServer,
    scheduling_server,
)
from tidings.calendar.itip import partstat_of, partstats
from tidings.model.dav import CollectionKind, DAVObject
from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId

__all__ = ["scheduling_server"]

CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
TEAM = "team@example.test"
DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def event(uid: str, start: datetime, minutes: int, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{stamp(datetime.now(UTC))}\r\nDTSTART:{stamp(start)}\r\n"
        f"DTEND:{stamp(start + timedelta(minutes=minutes))}\r\nSUMMARY:{summary}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def client(server: SchedulingServer, user: str) -> caldav.DAVClient:
    return caldav.DAVClient(url=f"{server.url}/dav/", username=user, password=PASSWORD)


def invite(server: SchedulingServer, user: str, text: str, attendees: list[str]) -> None:
    """The organizer saves an event with attendees through the caldav library."""
    with client(server, user) as dav:
        calendar = dav.principal().calendar(cal_id="default")
        calendar.save_with_invites(text, [f"mailto:{a}" for a in attendees])


def answer(server: SchedulingServer, user: str, uid: str, partstat: str) -> None:
    """The attendee changes their PARTSTAT on the copy in their own calendar."""
    with client(server, user) as dav:
        principal = dav.principal()
        copy = principal.calendar(cal_id="default").event_by_uid(uid)
        copy.change_attendee_status(f"mailto:{user}", partstat=partstat)
        copy.save(increase_seqno=False)


def discover_boxes(server: SchedulingServer, user: str) -> tuple[str, str, list[str]]:
    with client(server, user) as dav:
        principal = dav.principal()
        inbox = principal.schedule_inbox()
        outbox = principal.schedule_outbox()
        return str(inbox.url), str(outbox.url), list(principal.calendar_user_address_set())


def inbox_requests(server: SchedulingServer, user: str) -> list[bool]:
    """What the caldav library finds in the user's schedule inbox: is each a REQUEST?"""
    with client(server, user) as dav:
        items = dav.principal().schedule_inbox().get_items()
        return [item.is_invite_request() for item in items]


def cancel(server: SchedulingServer, user: str, uid: str) -> None:
    with client(server, user) as dav:
        dav.principal().calendar(cal_id="default").event_by_uid(uid).delete()


async def copies(server: SchedulingServer, owner: str, uid: str) -> list[DAVObject]:
    principal = server.users[owner]
    found = await server.store.dav.find_by_uid(
        principal, AccountId(int(principal.id)), CollectionKind.CALENDAR, uid
    )
    return list(found)


async def partstat(server: SchedulingServer, owner: str, uid: str, attendee: str) -> str | None:
    found = await copies(server, owner, uid)
    assert len(found) == 1, f"{owner} has {len(found)} copies of {uid}"
    return partstat_of(icalendar.Calendar.from_ical(found[0].data), attendee)


async def inbox_methods(server: SchedulingServer, owner: str) -> list[str]:
    principal = server.users[owner]
    account = AccountId(int(principal.id))
    inbox = await server.scheduler.store.inbox(principal)
    assert inbox.account_id == account
    objects = await server.store.dav.list_objects(principal, inbox.id)
    return sorted(str(icalendar.Calendar.from_ical(o.data)["METHOD"]) for o in objects)


async def queued_methods(server: SchedulingServer) -> list[tuple[str, str, str]]:
    """(sender, recipients, iTIP method) of every queued message."""
    found = []
    for queued in await server.store.queue.list():
        raw = await server.store.blobs.get(queued.blob_id)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 1 and message.get_content_type() == "multipart/alternative"
        assert any(p.get_content_type() == "text/plain" for p in message.walk())
        method = parts[0].get_param("method")
        body = icalendar.Calendar.from_ical(parts[0].get_content())
        assert str(body["METHOD"]) == method
        recipients = ",".join(r.address for r in queued.recipients)
        found.append((queued.sender, recipients, str(method)))
    return found


async def freebusy(
    server: SchedulingServer, user: str, attendees: list[str], start: datetime, end: datetime
) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """POST a VFREEBUSY REQUEST to the user's outbox: {address: (status, [(type, period)])}."""
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VFREEBUSY\r\nUID:fb-1\r\nDTSTAMP:{stamp(start)}\r\nDTSTART:{stamp(start)}\r\n"
        f"DTEND:{stamp(end)}\r\nORGANIZER:mailto:{user}\r\n"
        + "".join(f"ATTENDEE:mailto:{a}\r\n" for a in attendees)
        + "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    async with httpx.AsyncClient(auth=(user, PASSWORD)) as http:
        reply = await http.post(
            f"{server.url}/dav/scheduling/{user}/outbox/",
            content=body, headers={"Content-Type": "text/calendar"},
        )
    assert reply.status_code == 200, reply.text
    result = {}
    for node in ET.fromstring(reply.content).iter(f"{{{CALDAV_NS}}}response"):
        recipient = node.find(f"{{{CALDAV_NS}}}recipient")
        assert recipient is not None
        address = (recipient.findtext("{DAV:}href") or "").removeprefix("mailto:")
        status = node.findtext(f"{{{CALDAV_NS}}}request-status") or ""
        data = node.findtext(f"{{{CALDAV_NS}}}calendar-data")
        periods: list[tuple[str, str]] = []
        if data:
            for component in icalendar.Calendar.from_ical(data).walk("VFREEBUSY"):
                values = component.get("FREEBUSY", [])
                for value in values if isinstance(values, list) else [values]:
                    kind = str(value.params.get("FBTYPE"))
                    for begin, finish in value.dt if isinstance(value.dt, list) else [value.dt]:
                        periods.append((kind, f"{stamp(begin)}/{stamp(finish)}"))
        result[address] = (status, periods)
    return result


async def test_invitations_room_replies_imip_cancel_and_freebusy(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    inbox_url, outbox_url, addresses = await asyncio.to_thread(discover_boxes, server, BOB)
    assert unquote(inbox_url).endswith(f"/dav/scheduling/{BOB}/inbox/")
    assert unquote(outbox_url).endswith(f"/dav/scheduling/{BOB}/outbox/")
    assert f"mailto:{BOB}" in addresses

    # The organizer invites two users, the room and an external address.
    meeting = event("meeting-1", DAY, 60, "Planning")
    await asyncio.to_thread(invite, server, ALICE, meeting, [BOB, CAROL, ROOM, EXTERNAL])
    for user in (BOB, CAROL):
        assert await inbox_methods(server, user) == ["REQUEST"]
        assert await partstat(server, user, "meeting-1", user) == "NEEDS-ACTION"
    assert await asyncio.to_thread(inbox_requests, server, CAROL) == [True]
    assert await partstat(server, ROOM, "meeting-1", ROOM) == "ACCEPTED"
    assert await partstat(server, ALICE, "meeting-1", ROOM) == "ACCEPTED"
    assert await queued_methods(server) == [(ALICE, EXTERNAL, "REQUEST")]

    # Another organizer's overlapping booking: the room declines it.
    clash = event("clash-1", DAY + timedelta(minutes=30), 60, "Clash")
    await asyncio.to_thread(invite, server, BOB, clash, [ROOM])
    assert await partstat(server, BOB, "clash-1", ROOM) == "DECLINED"
    assert await copies(server, ROOM, "clash-1") == []

    # An attendee accepts: the organizer's copy shows it.
    await asyncio.to_thread(answer, server, BOB, "meeting-1", "ACCEPTED")
    assert await partstat(server, ALICE, "meeting-1", BOB) == "ACCEPTED"
    assert "REPLY" in await inbox_methods(server, ALICE)

    # The external attendee answers by mail (iMIP through the inbound pipeline).
    reply = imip_reply(await copies(server, ALICE, "meeting-1"), EXTERNAL, "TENTATIVE")
    await server.deliver_mail(EXTERNAL, ALICE, reply)
    assert await partstat(server, ALICE, "meeting-1", EXTERNAL) == "TENTATIVE"

    window = (DAY - timedelta(hours=1), DAY + timedelta(hours=3))
    busy = await freebusy(server, ALICE, [BOB, CAROL, ROOM, EXTERNAL], *window)
    slot = f"{stamp(DAY)}/{stamp(DAY + timedelta(hours=1))}"
    clash_slot = f"{stamp(DAY + timedelta(minutes=30))}/{stamp(DAY + timedelta(minutes=90))}"
    # Bob accepted the meeting and organizes the clash himself: one merged busy period.
    bob_slot = f"{stamp(DAY)}/{stamp(DAY + timedelta(minutes=90))}"
    assert busy[BOB] == ("2.0;Success", [("BUSY", bob_slot)])
    assert busy[CAROL] == ("2.0;Success", [("BUSY-TENTATIVE", slot)])
    assert busy[ROOM] == ("2.0;Success", [("BUSY", slot)])
    assert busy[EXTERNAL][0].startswith("3.7")
    assert clash_slot not in [p for _, p in busy[ROOM][1]]

    # The organizer cancels: gone everywhere, a CANCEL is mailed, everyone is free.
    await asyncio.to_thread(cancel, server, ALICE, "meeting-1")
    for user in (BOB, CAROL, ROOM):
        assert await copies(server, user, "meeting-1") == []
    assert "CANCEL" in await inbox_methods(server, CAROL)
    assert (ALICE, EXTERNAL, "CANCEL") in await queued_methods(server)
    busy = await freebusy(server, ALICE, [CAROL, ROOM], *window)
    assert busy[CAROL] == ("2.0;Success", [])
    assert busy[ROOM] == ("2.0;Success", [])


def imip_reply(organizer_copy: list[DAVObject], attendee: str, status: str) -> bytes:
    """What an external calendar program mails back: a REPLY with its answer."""
    source = icalendar.Calendar.from_ical(organizer_copy[0].data)
    component = source.walk("VEVENT")[0]
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//remote//EN\r\nMETHOD:REPLY\r\n"
        f"BEGIN:VEVENT\r\nUID:{component['UID']}\r\nDTSTAMP:{stamp(datetime.now(UTC))}\r\n"
        f"SEQUENCE:{int(component.get('SEQUENCE', 0))}\r\nORGANIZER:mailto:{ALICE}\r\n"
        f"ATTENDEE;PARTSTAT={status}:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return mail(attendee, ALICE, "Reply", text, "REPLY")


def mail(sender: str, recipient: str, subject: str, text: str, method: str) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content("See the calendar part.\n")
    message.add_alternative(
        text.encode(), maintype="text", subtype="calendar", params={"method": method}
    )
    return message.as_bytes()


async def test_imip_request_from_an_external_organizer_lands_tentatively(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//remote//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VEVENT\r\nUID:remote-1\r\nDTSTAMP:{stamp(DAY)}\r\nDTSTART:{stamp(DAY)}\r\n"
        f"DTEND:{stamp(DAY + timedelta(hours=1))}\r\nSUMMARY:Vendor call\r\n"
        f"ORGANIZER:mailto:{EXTERNAL}\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{BOB}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    await server.deliver_mail(EXTERNAL, BOB, mail(EXTERNAL, BOB, "Invitation", text, "REQUEST"))
    assert await inbox_methods(server, BOB) == ["REQUEST"]
    assert await partstat(server, BOB, "remote-1", BOB) == "NEEDS-ACTION"

    # Bob accepts in his calendar: the REPLY goes back by mail, from Bob.
    await asyncio.to_thread(answer, server, BOB, "remote-1", "ACCEPTED")
    assert await queued_methods(server) == [(BOB, EXTERNAL, "REPLY")]

    # A newer revision replaces Bob's copy; an older one arriving late is ignored.
    newer = text.replace("SUMMARY:Vendor call", "SEQUENCE:2\r\nSUMMARY:Vendor call (new)")
    await server.deliver_mail(EXTERNAL, BOB, mail(EXTERNAL, BOB, "Update", newer, "REQUEST"))
    await server.deliver_mail(EXTERNAL, BOB, mail(EXTERNAL, BOB, "Invitation", text, "REQUEST"))
    assert "Vendor call (new)" in (await copies(server, BOB, "remote-1"))[0].data
    assert await partstat(server, BOB, "remote-1", BOB) == "ACCEPTED"

    # A message claiming a local organizer from outside is not believed.
    forged = text.replace(f"mailto:{EXTERNAL}", f"mailto:{ALICE}").replace("remote-1", "forged-1")
    await server.deliver_mail(ALICE, CAROL, mail(ALICE, CAROL, "Invitation", forged, "REQUEST"))
    assert await copies(server, CAROL, "forged-1") == []


async def test_room_declines_bookings_its_policy_forbids(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    too_long = event("long-1", DAY, 300, "All afternoon")
    await asyncio.to_thread(invite, server, ALICE, too_long, [ROOM])
    assert await partstat(server, ALICE, "long-1", ROOM) == "DECLINED"
    too_far = event("far-1", DAY + timedelta(days=400), 60, "Next year")
    await asyncio.to_thread(invite, server, ALICE, too_far, [ROOM])
    assert await partstat(server, ALICE, "far-1", ROOM) == "DECLINED"
    assert await copies(server, ROOM, "long-1") == []
    assert await copies(server, ROOM, "far-1") == []


TRANSP_PATCH = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><C:schedule-calendar-transp><C:{value}/></C:schedule-calendar-transp>
  </D:prop></D:set>
</D:propertyupdate>"""


async def test_a_transparent_calendar_does_not_count_for_free_busy(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    holidays = f"{server.url}/dav/calendars/{CAROL}/holidays/"
    window = (DAY - timedelta(hours=1), DAY + timedelta(hours=3))
    async with httpx.AsyncClient(auth=(CAROL, PASSWORD)) as http:
        assert (await http.request("MKCALENDAR", holidays)).status_code == 201
        put = await http.put(
            holidays + "trip.ics", content=event("trip-1", DAY, 60, "Trip"),
            headers={"Content-Type": "text/calendar"},
        )
        assert put.status_code == 201
        slot = f"{stamp(DAY)}/{stamp(DAY + timedelta(hours=1))}"
        assert (await freebusy(server, ALICE, [CAROL], *window))[CAROL][1] == [("BUSY", slot)]

        patched = await http.request(
            "PROPPATCH", holidays, content=TRANSP_PATCH.format(value="transparent")
        )
        assert patched.status_code == 207 and "200 OK" in patched.text
        found = await http.request(
            "PROPFIND", holidays, headers={"Depth": "0"},
            content='<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><C:schedule-calendar-transp/></D:prop></D:propfind>",
        )
        assert "transparent" in found.text
        assert (await freebusy(server, ALICE, [CAROL], *window))[CAROL][1] == []

        await http.request("PROPPATCH", holidays, content=TRANSP_PATCH.format(value="opaque"))
        assert (await freebusy(server, ALICE, [CAROL], *window))[CAROL][1] == [("BUSY", slot)]


async def test_outbox_refuses_a_free_busy_request_for_another_organizer(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VFREEBUSY\r\nUID:fb-2\r\nDTSTAMP:{stamp(DAY)}\r\nDTSTART:{stamp(DAY)}\r\n"
        f"DTEND:{stamp(DAY + timedelta(hours=1))}\r\nORGANIZER:mailto:{ALICE}\r\n"
        f"ATTENDEE:mailto:{CAROL}\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    async with httpx.AsyncClient(auth=(BOB, PASSWORD)) as http:
        own_outbox_wrong_organizer = await http.post(
            f"{server.url}/dav/scheduling/{BOB}/outbox/", content=body
        )
        someone_elses_outbox = await http.post(
            f"{server.url}/dav/scheduling/{ALICE}/outbox/", content=body
        )
        someone_elses_inbox = await http.request(
            "PROPFIND", f"{server.url}/dav/scheduling/{ALICE}/inbox/", headers={"Depth": "1"}
        )
    assert own_outbox_wrong_organizer.status_code == 403
    assert someone_elses_outbox.status_code == 404
    assert someone_elses_inbox.status_code == 404


async def test_organizer_changes_propagate_and_reset_answers_when_the_time_moves(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await asyncio.to_thread(
        invite, server, ALICE, event("move-1", DAY, 60, "Review"), [BOB, CAROL, ROOM]
    )
    await asyncio.to_thread(answer, server, BOB, "move-1", "ACCEPTED")
    assert await partstat(server, ALICE, "move-1", BOB) == "ACCEPTED"

    # A new title only: Bob's answer stands. Then the meeting moves and Carol is
    # dropped: Bob must answer again, the room re-books, Carol's copy is cancelled.
    renamed = (await copies(server, ALICE, "move-1"))[0].data.replace("Review", "Review v2")
    await put_as(server, ALICE, "move-1", renamed)
    assert await partstat(server, BOB, "move-1", BOB) == "ACCEPTED"
    assert "Review v2" in (await copies(server, BOB, "move-1"))[0].data

    later = DAY + timedelta(hours=4)
    moved = (await copies(server, ALICE, "move-1"))[0].data
    moved = moved.replace(f"DTSTART:{stamp(DAY)}", f"DTSTART:{stamp(later)}")
    moved = moved.replace(
        f"DTEND:{stamp(DAY + timedelta(hours=1))}", f"DTEND:{stamp(later + timedelta(hours=1))}"
    )
    moved = "\r\n".join(
        line for line in moved.replace("\r\n ", "").split("\r\n") if CAROL not in line
    )
    await put_as(server, ALICE, "move-1", moved)
    assert await partstat(server, BOB, "move-1", BOB) == "NEEDS-ACTION"
    assert stamp(later) in (await copies(server, BOB, "move-1"))[0].data
    assert await partstat(server, ROOM, "move-1", ROOM) == "ACCEPTED"
    assert await copies(server, CAROL, "move-1") == []
    # The invitation, the new title, then the cancellation.
    assert (await inbox_methods(server, CAROL)) == ["CANCEL", "REQUEST", "REQUEST"]


async def put_as(server: SchedulingServer, user: str, uid: str, text: str) -> None:
    name = (await copies(server, user, uid))[0].name
    async with httpx.AsyncClient(auth=(user, PASSWORD)) as http:
        reply = await http.put(
            f"{server.url}/dav/calendars/{user}/default/{name}", content=text,
            headers={"Content-Type": "text/calendar"},
        )
    assert reply.status_code == 204, reply.text


async def test_an_invited_group_reaches_its_members_who_answer_as_themselves(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    directory = server.store.directory
    team = await directory.create_principal(PrincipalKind.GROUP, TEAM)
    for member in (BOB, CAROL):
        await directory.add_member(team.id, server.users[member].id)
    await asyncio.to_thread(invite, server, ALICE, event("team-1", DAY, 60, "All hands"), [TEAM])
    for member in (BOB, CAROL):
        assert await partstat(server, member, "team-1", member) == "NEEDS-ACTION"
    assert await server.store.queue.list() == []  # nothing mailed for a local group

    await asyncio.to_thread(answer, server, CAROL, "team-1", "DECLINED")
    assert await partstat(server, ALICE, "team-1", CAROL) == "DECLINED"
    organizer_copy = (await copies(server, ALICE, "team-1"))[0].data
    assert f"MEMBER=\"mailto:{TEAM}\"" in organizer_copy.replace("\r\n ", "")


async def test_declining_one_instance_of_a_series_updates_only_that_instance(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    weekly = event("weekly-1", DAY, 60, "Weekly").replace(
        "SUMMARY:Weekly\r\n", "SUMMARY:Weekly\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
    )
    await asyncio.to_thread(invite, server, ALICE, weekly, [BOB])
    await asyncio.to_thread(answer, server, BOB, "weekly-1", "ACCEPTED")

    # Bob's client overrides the second instance with his DECLINED.
    second = DAY + timedelta(days=7)
    bob_copy = icalendar.Calendar.from_ical((await copies(server, BOB, "weekly-1"))[0].data)
    master = bob_copy.walk("VEVENT")[0]
    override = icalendar.Event()
    for name in ("UID", "SUMMARY", "ORGANIZER", "SEQUENCE"):
        if master.get(name) is not None:
            override.add(name, master[name])
    override.add("DTSTAMP", datetime.now(UTC))
    override.add("RECURRENCE-ID", second)
    override.add("DTSTART", second)
    override.add("DTEND", second + timedelta(hours=1))
    override.add("ATTENDEE", f"mailto:{BOB}", parameters={"PARTSTAT": "DECLINED"})
    bob_copy.add_component(override)
    await put_as(server, BOB, "weekly-1", bob_copy.to_ical().decode())

    organizer_copy = icalendar.Calendar.from_ical((await copies(server, ALICE, "weekly-1"))[0].data)
    answers = partstats(organizer_copy, BOB)
    assert answers == {None: "ACCEPTED", second.isoformat(): "DECLINED"}
    busy = await freebusy(server, ALICE, [BOB], DAY, DAY + timedelta(days=15))
    assert [p for _, p in busy[BOB][1]] == [
        f"{stamp(DAY)}/{stamp(DAY + timedelta(hours=1))}",
        f"{stamp(DAY + timedelta(days=14))}/{stamp(DAY + timedelta(days=14, hours=1))}",
    ]


async def test_principal_properties_name_the_scheduling_collections(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    wanted = (
        '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
        "<C:schedule-inbox-URL/><C:schedule-outbox-URL/><C:calendar-user-type/>"
        "<C:schedule-default-calendar-URL/><C:calendar-user-address-set/>"
        "</D:prop></D:propfind>"
    )
    async with httpx.AsyncClient(auth=(ALICE, PASSWORD)) as http:
        found = await http.request(
            "PROPFIND", f"{server.url}/dav/principals/{ROOM}/", content=wanted,
            headers={"Depth": "0"},
        )
    assert found.status_code == 207
    root = ET.fromstring(found.content)
    texts = {
        node.tag.split("}")[1]: " ".join(t.strip() for t in node.itertext() if t.strip())
        for node in root.iter()
        if node.tag.startswith(f"{{{CALDAV_NS}}}")
    }
    assert unquote(texts["schedule-inbox-URL"]) == f"/dav/scheduling/{ROOM}/inbox/"
    assert unquote(texts["schedule-outbox-URL"]) == f"/dav/scheduling/{ROOM}/outbox/"
    assert unquote(texts["schedule-default-calendar-URL"]) == f"/dav/calendars/{ROOM}/default/"
    assert texts["calendar-user-type"] == "ROOM"
    assert texts["calendar-user-address-set"] == f"mailto:{ROOM}"


async def test_an_external_cancel_removes_one_instance_or_the_whole_series(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    second = DAY + timedelta(days=7)
    series = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//remote//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VEVENT\r\nUID:remote-weekly\r\nDTSTAMP:{stamp(DAY)}\r\nDTSTART:{stamp(DAY)}\r\n"
        f"DTEND:{stamp(DAY + timedelta(hours=1))}\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
        f"SUMMARY:Sync\r\nORGANIZER:mailto:{EXTERNAL}\r\nATTENDEE:mailto:{CAROL}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    await server.deliver_mail(EXTERNAL, CAROL, mail(EXTERNAL, CAROL, "Sync", series, "REQUEST"))
    one = (
        series.replace("METHOD:REQUEST", "METHOD:CANCEL")
        .replace("RRULE:FREQ=WEEKLY;COUNT=3\r\n", f"RECURRENCE-ID:{stamp(second)}\r\n")
        .replace(f"DTSTART:{stamp(DAY)}", f"DTSTART:{stamp(second)}")
        .replace(f"DTEND:{stamp(DAY + timedelta(hours=1))}",
                 f"DTEND:{stamp(second + timedelta(hours=1))}")
    )
    await server.deliver_mail(EXTERNAL, CAROL, mail(EXTERNAL, CAROL, "Cancelled", one, "CANCEL"))
    kept = (await copies(server, CAROL, "remote-weekly"))[0].data
    assert f"EXDATE:{stamp(second)}" in kept
    busy = await freebusy(server, ALICE, [CAROL], DAY, DAY + timedelta(days=15))
    assert len(busy[CAROL][1]) == 2

    everything = series.replace("METHOD:REQUEST", "METHOD:CANCEL")
    await server.deliver_mail(
        EXTERNAL, CAROL, mail(EXTERNAL, CAROL, "Cancelled", everything, "CANCEL")
    )
    assert await copies(server, CAROL, "remote-weekly") == []
