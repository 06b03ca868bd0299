"""A delegate answers invitations for the owner (RFC 6638 §3.2.2, RFC 5545 §3.2.18):
the REPLY goes out as the owner with SENT-BY naming the delegate, to an internal
organizer's copy or by iMIP; anyone else cannot answer (404 without rights, 403 for
an editor)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import httpx
import icalendar

from tests.integration.scheduling_env import (
    ALICE,
    BOB,
    CAROL,
    EXTERNAL,
    PASSWORD,
    SchedulingServer,
    scheduling_server,
)
from tests.integration.test_scheduling import mail
from tidings.calendar.itip import address_of, partstat_of
from tidings.model.dav import CollectionKind, DAVObject
from tidings.model.directory import Permission
from tidings.model.ids import AccountId

__all__ = ["scheduling_server"]

DAY = (datetime.now(UTC) + timedelta(days=4)).replace(hour=9, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def meeting(uid: str, organizer: str, attendee: str, method: str = "") -> str:
    header = f"METHOD:{method}\r\n" if method else ""
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{header}BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{stamp(DAY)}\r\nDTSTART:{stamp(DAY)}\r\n"
        f"DTEND:{stamp(DAY + timedelta(hours=1))}\r\nSUMMARY:Budget review\r\n"
        f"ORGANIZER:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def href(owner: str, name: str) -> str:
    return f"/dav/calendars/{owner}/default/{name}"


async def copy_of(server: SchedulingServer, owner: str, uid: str) -> DAVObject:
    principal = server.users[owner]
    found = await server.store.dav.find_by_uid(
        principal, AccountId(int(principal.id)), CollectionKind.CALENDAR, uid
    )
    assert len(found) == 1, f"{owner} has {len(found)} copies of {uid}"
    return found[0]


async def answer_as(
    server: SchedulingServer, actor: str, owner: str, uid: str, partstat: str
) -> httpx.Response:
    """`actor` sets the owner's PARTSTAT on the owner's copy with a plain DAV PUT."""
    stored = await copy_of(server, owner, uid)
    answered = stored.data.replace(
        f"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{owner}", f"PARTSTAT={partstat}:mailto:{owner}"
    ).replace(f"PARTSTAT=NEEDS-ACTION:mailto:{owner}", f"PARTSTAT={partstat}:mailto:{owner}")
    assert answered != stored.data, stored.data
    async with httpx.AsyncClient(base_url=server.url, auth=(actor, PASSWORD)) as http:
        return await http.put(
            href(owner, stored.name), content=answered,
            headers={"Content-Type": "text/calendar", "If-Match": f'"{stored.etag}"'},
        )  # fmt: skip


async def invite_bob(server: SchedulingServer, uid: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(ALICE, PASSWORD)) as http:
        made = await http.put(
            href(ALICE, f"{uid}.ics"), content=meeting(uid, ALICE, BOB),
            headers={"Content-Type": "text/calendar"},
        )  # fmt: skip
    assert made.status_code == 201, made.text
    assert partstat_of(icalendar.Calendar.from_ical((await copy_of(server, BOB, uid)).data),
                       BOB) == "NEEDS-ACTION"  # fmt: skip


def sent_by(text: str, attendee: str) -> str | None:
    """The SENT-BY of the attendee's ATTENDEE in a REPLY (None if absent)."""
    for component in icalendar.Calendar.from_ical(text).walk("VEVENT"):
        values = component.get("ATTENDEE")
        for value in values if isinstance(values, list) else [values]:
            if address_of(value) == attendee:
                found = value.params.get("SENT-BY")
                return None if found is None else str(found)
    return None


async def replies_in_inbox(server: SchedulingServer, owner: str) -> list[str]:
    principal = server.users[owner]
    inbox = await server.scheduler.store.inbox(principal)
    objects = await server.store.dav.list_objects(principal, inbox.id)
    return [o.data for o in objects if "METHOD:REPLY" in o.data]


async def test_delegate_accepts_for_the_owner_and_the_organizer_sees_sent_by(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await server.store.directory.grant(
        server.users[BOB].id, server.users[CAROL].id, Permission.CALENDAR_DELEGATE
    )
    await invite_bob(server, "deleg-1")

    answered = await answer_as(server, CAROL, BOB, "deleg-1", "ACCEPTED")
    assert answered.status_code == 204, answered.text

    organizer_copy = icalendar.Calendar.from_ical((await copy_of(server, ALICE, "deleg-1")).data)
    assert partstat_of(organizer_copy, BOB) == "ACCEPTED"
    replies = await replies_in_inbox(server, ALICE)
    assert len(replies) == 1
    assert sent_by(replies[0], BOB) == f"mailto:{CAROL}"
    owner_copy = icalendar.Calendar.from_ical((await copy_of(server, BOB, "deleg-1")).data)
    assert partstat_of(owner_copy, BOB) == "ACCEPTED"


async def test_owner_answering_itself_sends_no_sent_by(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await invite_bob(server, "self-1")
    answered = await answer_as(server, BOB, BOB, "self-1", "DECLINED")
    assert answered.status_code == 204, answered.text
    replies = await replies_in_inbox(server, ALICE)
    assert len(replies) == 1 and sent_by(replies[0], BOB) is None
    organizer_copy = icalendar.Calendar.from_ical((await copy_of(server, ALICE, "self-1")).data)
    assert partstat_of(organizer_copy, BOB) == "DECLINED"


async def test_delegate_answer_to_an_external_organizer_is_mailed_as_the_owner(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await server.store.directory.grant(
        server.users[BOB].id, server.users[CAROL].id, Permission.FULL_ACCESS
    )
    text = meeting("ext-deleg-1", EXTERNAL, BOB, "REQUEST")
    await server.deliver_mail(EXTERNAL, BOB, mail(EXTERNAL, BOB, "Invitation", text, "REQUEST"))

    answered = await answer_as(server, CAROL, BOB, "ext-deleg-1", "TENTATIVE")
    assert answered.status_code == 204, answered.text

    queued = await server.store.queue.list()
    assert len(queued) == 1
    assert queued[0].sender == BOB
    assert [r.address for r in queued[0].recipients] == [EXTERNAL]
    raw = await server.store.blobs.get(queued[0].blob_id)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    reply = parts[0].get_content()
    assert "METHOD:REPLY" in reply
    assert sent_by(reply, BOB) == f"mailto:{CAROL}"
    body = icalendar.Calendar.from_ical(reply)
    assert partstat_of(body, BOB) == "TENTATIVE"


async def test_without_rights_the_owner_copy_is_not_found_and_nothing_is_sent(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await invite_bob(server, "nobody-1")
    answered = await answer_as(server, CAROL, BOB, "nobody-1", "ACCEPTED")
    assert answered.status_code == 404
    assert await replies_in_inbox(server, ALICE) == []
    owner_copy = icalendar.Calendar.from_ical((await copy_of(server, BOB, "nobody-1")).data)
    assert partstat_of(owner_copy, BOB) == "NEEDS-ACTION"


async def test_an_editor_may_edit_but_not_answer_for_the_owner(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await server.store.directory.grant(
        server.users[BOB].id, server.users[CAROL].id, Permission.CALENDAR_EDITOR
    )
    await invite_bob(server, "editor-1")
    refused = await answer_as(server, CAROL, BOB, "editor-1", "ACCEPTED")
    assert refused.status_code == 403
    assert "calendar delegate" in refused.text
    assert await replies_in_inbox(server, ALICE) == []
    stored = await copy_of(server, BOB, "editor-1")
    assert partstat_of(icalendar.Calendar.from_ical(stored.data), BOB) == "NEEDS-ACTION"

    # A change that answers nothing (a reminder) is an editor's to make.
    alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
    edited = stored.data.replace("END:VEVENT", alarm + "END:VEVENT")
    async with httpx.AsyncClient(base_url=server.url, auth=(CAROL, PASSWORD)) as http:
        changed = await http.put(
            href(BOB, stored.name), content=edited,
            headers={"Content-Type": "text/calendar", "If-Match": f'"{stored.etag}"'},
        )  # fmt: skip
    assert changed.status_code == 204, changed.text
    assert await replies_in_inbox(server, ALICE) == []
    assert "VALARM" in (await copy_of(server, BOB, "editor-1")).data


async def test_delegate_removing_the_owner_copy_declines_and_an_editor_may_not(
    scheduling_server: SchedulingServer,
) -> None:
    server = scheduling_server
    await server.store.directory.grant(
        server.users[BOB].id, server.users[CAROL].id, Permission.CALENDAR_EDITOR
    )
    await invite_bob(server, "remove-1")
    stored = await copy_of(server, BOB, "remove-1")
    async with httpx.AsyncClient(base_url=server.url, auth=(CAROL, PASSWORD)) as http:
        refused = await http.delete(href(BOB, stored.name))
        assert refused.status_code == 403
        assert (await copy_of(server, BOB, "remove-1")).etag == stored.etag
        await server.store.directory.grant(
            server.users[BOB].id, server.users[CAROL].id, Permission.CALENDAR_DELEGATE
        )
        removed = await http.delete(href(BOB, stored.name))
        assert removed.status_code == 204
    replies = await replies_in_inbox(server, ALICE)
    assert len(replies) == 1 and sent_by(replies[0], BOB) == f"mailto:{CAROL}"
    organizer_copy = icalendar.Calendar.from_ical((await copy_of(server, ALICE, "remove-1")).data)
    assert partstat_of(organizer_copy, BOB) == "DECLINED"
