"""The DAV store service on SQLite and PostgreSQL: collections, ETag preconditions,
UID uniqueness, the range index, sync from the change log, and authorization."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.backends.helpers import account, make_principal
from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.dav import (
    CollectionKind,
    CollectionPatch,
    InvalidSyncToken,
    NewCollection,
    NewDAVObject,
    PreconditionFailed,
    UIDConflict,
)
from tidings.model.directory import Permission
from tidings.model.errors import Conflict, NotFound, PermissionDenied
from tidings.model.ids import ModSeq
from tidings.store import SQLStore

CAL = CollectionKind.CALENDAR


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def obj(name: str, uid: str, start: datetime | None, end: datetime | None) -> NewDAVObject:
    return NewDAVObject(name, f"BEGIN:VCALENDAR\r\nUID:{uid}\r\n", uid, "VEVENT", start, end)


async def test_default_calendar_is_created_on_first_look(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    calendars = await store.dav.list_collections(alice, account(alice), CAL)
    assert [c.name for c in calendars] == ["default"]
    books = await store.dav.list_collections(alice, account(alice), CollectionKind.ADDRESSBOOK)
    assert [b.name for b in books] == ["contacts"]
    assert len(await store.dav.list_collections(alice, account(alice), CAL)) == 1


async def test_put_honours_etag_preconditions_and_uid_uniqueness(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    with pytest.raises(Conflict):
        await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    first, created = await store.dav.put_object(
        alice, work.id, obj("a.ics", "u1", utc(2024, 1, 1), utc(2024, 1, 2)), if_none_match=True
    )
    assert created
    with pytest.raises(PreconditionFailed):
        await store.dav.put_object(
            alice, work.id, obj("a.ics", "u1", None, None), if_none_match=True
        )
    with pytest.raises(PreconditionFailed):
        await store.dav.put_object(alice, work.id, obj("a.ics", "u1", None, None), if_match="nope")
    with pytest.raises(UIDConflict) as clash:
        await store.dav.put_object(alice, work.id, obj("b.ics", "u1", None, None))
    assert clash.value.existing_name == "a.ics"
    second, created = await store.dav.put_object(
        alice,
        work.id,
        NewDAVObject("a.ics", "changed", "u1", "VEVENT", None, None),
        if_match=first.etag,
    )
    assert not created and second.etag != first.etag
    with pytest.raises(PreconditionFailed):
        await store.dav.delete_object(alice, work.id, "a.ics", if_match=first.etag)
    await store.dav.delete_object(alice, work.id, "a.ics", if_match=second.etag)
    with pytest.raises(NotFound):
        await store.dav.get_object(alice, work.id, "a.ics")


async def test_time_range_uses_the_indexed_bounds(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    await store.dav.put_object(
        alice, work.id, obj("jan.ics", "1", utc(2024, 1, 5), utc(2024, 1, 6))
    )
    await store.dav.put_object(
        alice, work.id, obj("open.ics", "2", utc(2024, 3, 1), utc(9999, 1, 1))
    )
    await store.dav.put_object(alice, work.id, obj("todo.ics", "3", None, None))
    found = await store.dav.list_objects(alice, work.id, start=utc(2024, 2, 1), end=utc(2024, 4, 1))
    assert [o.name for o in found] == ["open.ics", "todo.ics"]
    found = await store.dav.list_objects(alice, work.id, start=utc(2024, 1, 1), end=utc(2024, 1, 6))
    assert [o.name for o in found] == ["jan.ics", "todo.ics"]
    got = await store.dav.list_objects(alice, work.id, names=["jan.ics", "missing.ics"])
    assert [o.name for o in got] == ["jan.ics"]


async def test_sync_reads_the_one_change_log(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    await store.dav.put_object(alice, work.id, obj("a.ics", "a", None, None))
    await store.dav.put_object(alice, work.id, obj("b.ics", "b", None, None))
    start = await store.dav.changes_since(alice, work.id, None)
    assert [o.name for o in start.changed] == ["a.ics", "b.ics"]
    await store.dav.delete_object(alice, work.id, "a.ics")
    await store.dav.put_object(alice, work.id, obj("c.ics", "c", None, None))
    later = await store.dav.changes_since(alice, work.id, start.token)
    assert ([o.name for o in later.changed], later.removed) == (["c.ics"], ("a.ics",))
    assert later.token > start.token
    empty = await store.dav.changes_since(alice, work.id, later.token)
    assert (empty.changed, empty.removed) == ((), ())
    with pytest.raises(InvalidSyncToken):
        await store.dav.changes_since(alice, work.id, ModSeq(later.token + 100))
    log = await store.mail.changes_since(alice, account(alice), start.token)
    kinds = {(c.kind, c.op) for c in log.changes}
    assert (ObjectKind.CALENDAR_OBJECT, ChangeOp.DESTROYED) in kinds
    assert (ObjectKind.CALENDAR_OBJECT, ChangeOp.CREATED) in kinds


async def test_others_see_nothing_and_reviewers_only_read(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    await store.dav.put_object(alice, work.id, obj("a.ics", "a", None, None))
    with pytest.raises(NotFound):
        await store.dav.list_collections(bob, account(alice), CAL)
    with pytest.raises(NotFound):
        await store.dav.get_object(bob, work.id, "a.ics")
    with pytest.raises(NotFound):
        await store.dav.put_object(bob, work.id, obj("x.ics", "x", None, None))
    await store.directory.grant(alice.id, bob.id, Permission.CALENDAR_REVIEWER)
    assert (await store.dav.get_object(bob, work.id, "a.ics")).uid == "a"
    with pytest.raises(PermissionDenied):
        await store.dav.put_object(bob, work.id, obj("x.ics", "x", None, None))
    with pytest.raises(PermissionDenied):
        await store.dav.update_collection(bob, work.id, CollectionPatch(display_name="x"))
    with pytest.raises(NotFound):  # calendar rights give nothing on contacts
        await store.dav.list_collections(bob, account(alice), CollectionKind.ADDRESSBOOK)
    await store.directory.grant(alice.id, bob.id, Permission.CALENDAR_EDITOR)
    await store.dav.put_object(bob, work.id, obj("x.ics", "x", None, None))


async def test_deleting_a_collection_leaves_tombstones(store: SQLStore) -> None:
    alice = await make_principal(store, "alice")
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    await store.dav.put_object(alice, work.id, obj("a.ics", "a", None, None))
    before = await store.mail.highest_modseq(alice, account(alice))
    await store.dav.delete_collection(alice, work.id)
    log = await store.mail.changes_since(alice, account(alice), before)
    assert {(c.kind, c.op) for c in log.changes} == {
        (ObjectKind.CALENDAR_OBJECT, ChangeOp.DESTROYED),
        (ObjectKind.CALENDAR, ChangeOp.DESTROYED),
    }
    with pytest.raises(NotFound):
        await store.dav.get_object(alice, work.id, "a.ics")
