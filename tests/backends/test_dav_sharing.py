"""Collection sharing on SQLite and PostgreSQL: each level, group grants, revocation,
who may share, and the sharee's view of shared collections (decision 0007)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.backends.helpers import account, make_principal
from tidings.model.dav import (
    CollectionGrant,
    CollectionKind,
    DAVCollection,
    NewCollection,
    NewDAVObject,
    ShareLevel,
)
from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.errors import InvalidInput, NotFound, PermissionDenied
from tidings.store import SQLStore

CAL = CollectionKind.CALENDAR
BOOK = CollectionKind.ADDRESSBOOK
EVENT = NewDAVObject(
    "a.ics",
    "BEGIN:VCALENDAR\r\nUID:u1\r\n",
    "u1",
    "VEVENT",
    datetime(2024, 1, 1, 9, tzinfo=UTC),
    datetime(2024, 1, 1, 10, tzinfo=UTC),
)
START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)


async def _setup(store: SQLStore) -> tuple[Principal, Principal, DAVCollection]:
    alice = await make_principal(store, "alice")
    bob = await make_principal(store, "bob")
    work = await store.dav.create_collection(alice, account(alice), NewCollection(CAL, "work"))
    await store.dav.put_object(alice, work.id, EVENT)
    return alice, bob, work


async def test_without_a_grant_the_collection_does_not_exist(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    with pytest.raises(NotFound):
        await store.dav.list_collections(bob, account(alice), CAL)
    with pytest.raises(NotFound):
        await store.dav.get_object(bob, work.id, "a.ics")
    with pytest.raises(NotFound):
        await store.dav.free_busy_objects(bob, work.id, START, END)
    assert await store.dav.shared_collections(bob, CAL) == []


async def test_free_busy_level_allows_only_free_busy(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    await store.dav.share_collection(alice, work.id, bob.id, ShareLevel.FREE_BUSY)
    [shared] = await store.dav.shared_collections(bob, CAL)
    assert (shared.id, shared.access) == (work.id, ShareLevel.FREE_BUSY)
    assert [o.name for o in await store.dav.free_busy_objects(bob, work.id, START, END)] == [
        "a.ics"
    ]
    with pytest.raises(PermissionDenied):
        await store.dav.get_object(bob, work.id, "a.ics")
    with pytest.raises(PermissionDenied):
        await store.dav.list_objects(bob, work.id)
    with pytest.raises(PermissionDenied):
        await store.dav.changes_since(bob, work.id, None)


async def test_read_level_reads_but_cannot_write(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    await store.dav.share_collection(alice, work.id, bob.id, ShareLevel.READ)
    assert (await store.dav.get_object(bob, work.id, "a.ics")).uid == "u1"
    # Only the shared calendar shows in alice's home, not her default one.
    assert [c.name for c in await store.dav.list_collections(bob, account(alice), CAL)] == ["work"]
    with pytest.raises(PermissionDenied):
        await store.dav.put_object(bob, work.id, EVENT)
    with pytest.raises(PermissionDenied):
        await store.dav.delete_object(bob, work.id, "a.ics")


async def test_read_write_level_writes_objects_but_cannot_manage(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    carol = await make_principal(store, "carol")
    await store.dav.share_collection(alice, work.id, bob.id, ShareLevel.READ_WRITE)
    await store.dav.delete_object(bob, work.id, "a.ics")
    _, created = await store.dav.put_object(bob, work.id, EVENT)
    assert created
    with pytest.raises(PermissionDenied):
        await store.dav.delete_collection(bob, work.id)
    with pytest.raises(PermissionDenied):
        await store.dav.share_collection(bob, work.id, carol.id, ShareLevel.READ)


async def test_manage_level_may_share_further_and_read_the_acl(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    carol = await make_principal(store, "carol")
    await store.dav.share_collection(alice, work.id, bob.id, ShareLevel.MANAGE)
    await store.dav.share_collection(bob, work.id, carol.id, ShareLevel.READ)
    assert await store.dav.collection_acl(bob, work.id) == [
        CollectionGrant(work.id, bob.id, ShareLevel.MANAGE),
        CollectionGrant(work.id, carol.id, ShareLevel.READ),
    ]
    with pytest.raises(PermissionDenied):
        await store.dav.collection_acl(carol, work.id)


async def test_a_group_grant_reaches_members_and_revoking_removes_it(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    team = await make_principal(store, "team", PrincipalKind.GROUP)
    await store.directory.add_member(team.id, bob.id)
    await store.dav.share_collection(alice, work.id, team.id, ShareLevel.READ)
    assert [c.access for c in await store.dav.shared_collections(bob, CAL)] == [ShareLevel.READ]
    # A direct grant and a group grant: the higher level wins.
    await store.dav.share_collection(alice, work.id, bob.id, ShareLevel.READ_WRITE)
    assert [c.access for c in await store.dav.shared_collections(bob, CAL)] == [
        ShareLevel.READ_WRITE
    ]
    await store.dav.share_collection(alice, work.id, bob.id, None)
    await store.dav.share_collection(alice, work.id, team.id, None)
    assert await store.dav.shared_collections(bob, CAL) == []
    with pytest.raises(NotFound):
        await store.dav.get_object(bob, work.id, "a.ics")


async def test_sharing_refuses_bad_grants(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    room = await make_principal(store, "room1", PrincipalKind.ROOM)
    with pytest.raises(InvalidInput):
        await store.dav.share_collection(alice, work.id, alice.id, ShareLevel.READ)
    with pytest.raises(InvalidInput):
        await store.dav.share_collection(alice, work.id, room.id, ShareLevel.READ)
    books = await store.dav.list_collections(alice, account(alice), BOOK)
    with pytest.raises(InvalidInput):
        await store.dav.share_collection(alice, books[0].id, bob.id, ShareLevel.FREE_BUSY)
    with pytest.raises(NotFound):
        await store.dav.share_collection(bob, work.id, bob.id, ShareLevel.READ)


async def test_account_free_busy_permission_gives_the_free_busy_level(store: SQLStore) -> None:
    alice, bob, work = await _setup(store)
    await store.directory.grant(alice.id, bob.id, Permission.FREE_BUSY)
    listed = await store.dav.list_collections(bob, account(alice), CAL)
    assert {c.access for c in listed} == {ShareLevel.FREE_BUSY}
    assert len(await store.dav.free_busy_objects(bob, work.id, START, END)) == 1
    with pytest.raises(PermissionDenied):
        await store.dav.get_object(bob, work.id, "a.ics")


async def test_objects_record_when_they_were_last_modified(store: SQLStore) -> None:
    alice, _bob, work = await _setup(store)
    found = await store.dav.get_object(alice, work.id, "a.ics")
    assert found.modified_at is not None
    assert abs((datetime.now(UTC) - found.modified_at).total_seconds()) < 60
