"""Store support for scheduling on SQLite and PostgreSQL: the schedule inbox, lookup
by UID across collections, and the schedule-calendar-transp flag."""

from __future__ import annotations

import pytest

from tests.backends.helpers import account, make_principal
from tidings.model.dav import CollectionKind, CollectionPatch, NewCollection, NewDAVObject
from tidings.model.errors import NotFound
from tidings.store import SQLStore

CAL = CollectionKind.CALENDAR
INBOX = CollectionKind.SCHEDULE_INBOX


def obj(name: str, uid: str) -> NewDAVObject:
    return NewDAVObject(name, f"BEGIN:VCALENDAR\r\nUID:{uid}\r\n{name}\r\n", uid, "VEVENT")


async def test_schedule_inbox_is_created_on_first_look_and_repeats_uids(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    inboxes = await store.dav.list_collections(alice, account(alice), INBOX)
    assert [c.name for c in inboxes] == ["inbox"]
    inbox = inboxes[0]
    await store.dav.put_object(alice, inbox.id, obj("one.ics", "meeting"))
    await store.dav.put_object(alice, inbox.id, obj("two.ics", "meeting"))
    assert [o.name for o in await store.dav.list_objects(alice, inbox.id)] == ["one.ics", "two.ics"]
    # The inbox is no calendar: calendar listings and UID lookups do not see it.
    calendars = await store.dav.list_collections(alice, account(alice), CAL)
    assert [c.name for c in calendars] == ["default"]
    assert await store.dav.find_by_uid(alice, account(alice), CAL, "meeting") == []


async def test_find_by_uid_looks_in_every_calendar_of_the_account(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    default = (await store.dav.list_collections(alice, account(alice), CAL))[0]
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    await store.dav.put_object(alice, default.id, obj("a.ics", "u1"))
    await store.dav.put_object(alice, work.id, obj("b.ics", "u1"))
    await store.dav.put_object(alice, work.id, obj("c.ics", "u2"))
    await store.dav.delete_object(alice, work.id, "c.ics")
    found = await store.dav.find_by_uid(alice, account(alice), CAL, "u1")
    assert sorted((o.collection_id, o.name) for o in found) == [
        (default.id, "a.ics"), (work.id, "b.ics")
    ]
    assert await store.dav.find_by_uid(alice, account(alice), CAL, "u2") == []
    with pytest.raises(NotFound):
        await store.dav.find_by_uid(bob, account(alice), CAL, "u1")


async def test_calendars_are_opaque_until_marked_transparent(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    default = (await store.dav.list_collections(alice, account(alice), CAL))[0]
    assert default.transparent is False
    dav = store.dav
    patched = await dav.update_collection(alice, default.id, CollectionPatch(transparent=True))
    assert patched.transparent is True
    renamed = await dav.update_collection(alice, default.id, CollectionPatch(display_name="x"))
    assert renamed.transparent is True
