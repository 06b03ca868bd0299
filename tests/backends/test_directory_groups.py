"""Directory contract: nested groups, loops, and permissions inherited through groups."""

from __future__ import annotations

import pytest

from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import PrincipalId
from tidings.store import SQLStore
from tidings.store.sql import schema
from tidings.store.sql.database import Tx


async def _principals(store: SQLStore, *specs: tuple[PrincipalKind, str]) -> list[Principal]:
    await store.directory.create_domain("example.com")
    return [
        await store.directory.create_principal(kind, f"{local}@example.com")
        for kind, local in specs
    ]


U, G = PrincipalKind.USER, PrincipalKind.GROUP


async def test_nested_groups_expand_to_each_data_owning_member_once(store: SQLStore) -> None:
    outer, inner, ann, bob, room = await _principals(
        store, (G, "outer"), (G, "inner"), (U, "ann"), (U, "bob"), (PrincipalKind.ROOM, "room")
    )
    d = store.directory
    await d.add_member(outer.id, ann.id)
    await d.add_member(outer.id, inner.id)
    await d.add_member(inner.id, ann.id)  # reachable twice
    await d.add_member(inner.id, bob.id)
    await d.add_member(inner.id, room.id)
    expanded = await d.expand_group(outer.id)
    assert [p.name for p in expanded] == ["ann@example.com", "bob@example.com", "room@example.com"]
    assert [p.name for p in await d.list_members(outer.id)] == [
        "ann@example.com",
        "inner@example.com",
    ]


async def test_expanding_a_data_owning_principal_gives_itself(store: SQLStore) -> None:
    (ann,) = await _principals(store, (U, "ann"))
    assert [p.id for p in await store.directory.expand_group(ann.id)] == [ann.id]


async def test_expanding_an_empty_group_gives_nothing(store: SQLStore) -> None:
    (group,) = await _principals(store, (G, "empty"))
    assert await store.directory.expand_group(group.id) == []
    with pytest.raises(NotFound):
        await store.directory.expand_group(PrincipalId(9999))


async def test_add_member_refuses_a_loop_and_self_membership(store: SQLStore) -> None:
    a, b, c = await _principals(store, (G, "a"), (G, "b"), (G, "c"))
    d = store.directory
    await d.add_member(a.id, b.id)
    await d.add_member(b.id, c.id)
    with pytest.raises(InvalidInput):
        await d.add_member(c.id, a.id)
    with pytest.raises(InvalidInput):
        await d.add_member(a.id, a.id)


async def test_add_member_to_a_non_group_raises_invalid_input(store: SQLStore) -> None:
    ann, bob = await _principals(store, (U, "ann"), (U, "bob"))
    with pytest.raises(InvalidInput):
        await store.directory.add_member(ann.id, bob.id)


async def test_add_unknown_member_raises_not_found(store: SQLStore) -> None:
    (group,) = await _principals(store, (G, "team"))
    with pytest.raises(NotFound):
        await store.directory.add_member(group.id, PrincipalId(9999))


async def test_adding_a_member_twice_keeps_one_membership(store: SQLStore) -> None:
    group, ann = await _principals(store, (G, "team"), (U, "ann"))
    await store.directory.add_member(group.id, ann.id)
    await store.directory.add_member(group.id, ann.id)
    assert [p.id for p in await store.directory.list_members(group.id)] == [ann.id]


async def test_expansion_survives_a_loop_already_in_the_data(store: SQLStore) -> None:
    # An import or an LDAP bridge could bring a loop in past add_member's check.
    a, b, ann, bob = await _principals(store, (G, "a"), (G, "b"), (U, "ann"), (U, "bob"))

    async def _loop(tx: Tx) -> None:
        await tx.conn.execute(
            schema.group_members.insert(),
            [
                {"group_id": a.id, "member_id": b.id},
                {"group_id": b.id, "member_id": a.id},
                {"group_id": a.id, "member_id": ann.id},
                {"group_id": b.id, "member_id": bob.id},
            ],
        )

    await store.db.write(_loop)
    assert [p.id for p in await store.directory.expand_group(a.id)] == [ann.id, bob.id]
    assert [p.id for p in await store.directory.expand_group(b.id)] == [ann.id, bob.id]


async def test_remove_member_stops_expansion_and_unknown_edge_raises_not_found(
    store: SQLStore,
) -> None:
    group, ann = await _principals(store, (G, "team"), (U, "ann"))
    await store.directory.add_member(group.id, ann.id)
    await store.directory.remove_member(group.id, ann.id)
    assert await store.directory.expand_group(group.id) == []
    with pytest.raises(NotFound):
        await store.directory.remove_member(group.id, ann.id)


async def test_permissions_include_grants_to_groups_the_grantee_is_nested_in(
    store: SQLStore,
) -> None:
    owner, shared, outer, inner, ann, bob = await _principals(
        store,
        (U, "boss"),
        (PrincipalKind.SHARED, "info"),
        (G, "outer"),
        (G, "inner"),
        (U, "ann"),
        (U, "bob"),
    )
    d = store.directory
    await d.add_member(outer.id, inner.id)
    await d.add_member(inner.id, ann.id)
    await d.grant(shared.id, outer.id, Permission.FULL_ACCESS)
    await d.grant(owner.id, ann.id, Permission.SEND_ON_BEHALF)
    await d.grant(owner.id, ann.id, Permission.SEND_ON_BEHALF)  # idempotent
    await d.grant(owner.id, inner.id, Permission.CALENDAR_REVIEWER)
    assert set(await d.permissions_of(ann.id)) == {
        (shared.id, Permission.FULL_ACCESS),
        (owner.id, Permission.SEND_ON_BEHALF),
        (owner.id, Permission.CALENDAR_REVIEWER),
    }
    assert await d.permissions_of(bob.id) == []
    await d.remove_member(inner.id, ann.id)
    assert await d.permissions_of(ann.id) == [(owner.id, Permission.SEND_ON_BEHALF)]


async def test_revoke_removes_a_grant_and_tolerates_a_missing_one(store: SQLStore) -> None:
    owner, ann = await _principals(store, (U, "boss"), (U, "ann"))
    d = store.directory
    await d.grant(owner.id, ann.id, Permission.SEND_AS)
    await d.revoke(owner.id, ann.id, Permission.SEND_AS)
    await d.revoke(owner.id, ann.id, Permission.SEND_AS)
    assert await d.permissions_of(ann.id) == []
    with pytest.raises(NotFound):
        await d.grant(owner.id, PrincipalId(9999), Permission.SEND_AS)


async def test_permissions_terminate_on_a_membership_loop(store: SQLStore) -> None:
    owner, a, b, ann = await _principals(store, (U, "boss"), (G, "a"), (G, "b"), (U, "ann"))

    async def _loop(tx: Tx) -> None:
        await tx.conn.execute(
            schema.group_members.insert(),
            [
                {"group_id": a.id, "member_id": b.id},
                {"group_id": b.id, "member_id": a.id},
                {"group_id": b.id, "member_id": ann.id},
            ],
        )

    await store.db.write(_loop)
    await store.directory.grant(owner.id, a.id, Permission.FREE_BUSY)
    assert await store.directory.permissions_of(ann.id) == [(owner.id, Permission.FREE_BUSY)]
