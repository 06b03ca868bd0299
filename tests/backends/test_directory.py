"""Directory contract: domains, principals, addresses, passwords, app passwords, resources."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.directory import PrincipalKind, ResourcePolicy, Role
from tidings.model.errors import Conflict, InvalidInput, NotFound
from tidings.model.ids import PrincipalId
from tidings.store import SQLStore
from tidings.store.sql import schema


async def _count(store: SQLStore, table: str, **where: object) -> int:
    t = schema.metadata.tables[table]

    async def _read(conn: AsyncConnection) -> int:
        stmt = select(func.count()).select_from(t)
        for name, value in where.items():
            stmt = stmt.where(t.c[name] == value)
        return int((await conn.execute(stmt)).scalar_one())

    return await store.db.read(_read)


async def test_create_domain_stores_lowercase_name_and_lists_it(store: SQLStore) -> None:
    created = await store.directory.create_domain("Example.COM")
    assert created.name == "example.com"
    assert (await store.directory.get_domain("EXAMPLE.com")).id == created.id
    assert [d.name for d in await store.directory.list_domains()] == ["example.com"]


async def test_create_domain_converts_unicode_to_a_label(store: SQLStore) -> None:
    created = await store.directory.create_domain("bücher.example")
    assert created.name == "xn--bcher-kva.example"


async def test_create_domain_twice_raises_conflict(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    with pytest.raises(Conflict):
        await store.directory.create_domain("example.com")


@pytest.mark.parametrize("name", ["", "-bad.com", "a..b", "sp ace.com", "x" * 64 + ".com"])
async def test_create_domain_with_bad_name_raises_invalid_input(store: SQLStore, name: str) -> None:
    with pytest.raises(InvalidInput):
        await store.directory.create_domain(name)


async def test_get_unknown_domain_raises_not_found(store: SQLStore) -> None:
    with pytest.raises(NotFound):
        await store.directory.get_domain("nowhere.example")


async def test_delete_domain_refuses_while_principals_remain(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "a@example.com")
    with pytest.raises(Conflict):
        await store.directory.delete_domain("example.com")
    await store.directory.delete_principal(user.id)
    await store.directory.delete_domain("example.com")
    with pytest.raises(NotFound):
        await store.directory.get_domain("example.com")


async def test_catch_all_is_set_and_cleared_when_its_target_is_deleted(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "all@example.com")
    assert (await store.directory.set_catch_all("example.com", user.id)).catch_all == user.id
    await store.directory.delete_principal(user.id)
    assert (await store.directory.get_domain("example.com")).catch_all is None


async def test_catch_all_to_unknown_principal_raises_not_found(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    with pytest.raises(NotFound):
        await store.directory.set_catch_all("example.com", PrincipalId(9999))


async def test_create_user_gets_an_account_with_default_mailboxes(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(
        PrincipalKind.USER, "Alice@Example.com", display_name="Alice", quota_bytes=1000
    )
    assert (user.name, user.kind, user.display_name) == ("alice@example.com", "user", "Alice")
    assert user.quota_bytes == 1000 and user.enabled and user.role is Role.USER
    assert await _count(store, "accounts", id=user.id) == 1
    assert await _count(store, "mailboxes", account_id=user.id) == 6
    assert await store.directory.get_principal(user.id) == user


@pytest.mark.parametrize(
    "kind", [PrincipalKind.SHARED, PrincipalKind.ROOM, PrincipalKind.EQUIPMENT]
)
async def test_every_data_owning_kind_gets_an_account(store: SQLStore, kind: PrincipalKind) -> None:
    await store.directory.create_domain("example.com")
    principal = await store.directory.create_principal(kind, "thing@example.com")
    assert principal.kind is kind
    assert await _count(store, "accounts", id=principal.id) == 1


async def test_group_gets_no_account(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    group = await store.directory.create_principal(PrincipalKind.GROUP, "team@example.com")
    assert await _count(store, "accounts", id=group.id) == 0


async def test_create_principal_in_unknown_domain_raises_not_found(store: SQLStore) -> None:
    with pytest.raises(NotFound):
        await store.directory.create_principal(PrincipalKind.USER, "a@nowhere.example")


@pytest.mark.parametrize(
    "address", ["no-at-sign", "@example.com", "a b@example.com", "a..b@example.com"]
)
async def test_create_principal_with_bad_address_raises_invalid_input(
    store: SQLStore, address: str
) -> None:
    await store.directory.create_domain("example.com")
    with pytest.raises(InvalidInput):
        await store.directory.create_principal(PrincipalKind.USER, address)


async def test_taken_address_or_alias_raises_conflict(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "a@example.com")
    await store.directory.add_alias(user.id, "alias@example.com")
    with pytest.raises(Conflict):
        await store.directory.create_principal(PrincipalKind.USER, "A@example.com")
    with pytest.raises(Conflict):
        await store.directory.create_principal(PrincipalKind.USER, "ALIAS@example.com")


async def test_concurrent_creation_of_one_address_yields_exactly_one_conflict(
    store: SQLStore,
) -> None:
    await store.directory.create_domain("example.com")
    results = await asyncio.gather(
        *(
            store.directory.create_principal(PrincipalKind.USER, "race@example.com")
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))


async def test_find_principal_resolves_primary_and_alias_case_insensitively(
    store: SQLStore,
) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "bob@example.com")
    await store.directory.add_alias(user.id, "Robert@Example.com")
    assert (await store.directory.find_principal("BOB@example.com")).id == user.id
    assert (await store.directory.find_principal("robert@EXAMPLE.COM")).id == user.id
    assert await store.directory.list_aliases(user.id) == ["robert@example.com"]
    with pytest.raises(NotFound):
        await store.directory.find_principal("nobody@example.com")
    with pytest.raises(NotFound):
        await store.directory.find_principal("not an address")


async def test_alias_in_unknown_domain_raises_not_found(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "bob@example.com")
    with pytest.raises(NotFound):
        await store.directory.add_alias(user.id, "bob@elsewhere.example")


async def test_remove_alias_frees_the_address_but_refuses_a_primary(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(PrincipalKind.USER, "bob@example.com")
    await store.directory.add_alias(user.id, "rob@example.com")
    with pytest.raises(InvalidInput):
        await store.directory.remove_alias("bob@example.com")
    await store.directory.remove_alias("rob@example.com")
    with pytest.raises(NotFound):
        await store.directory.find_principal("rob@example.com")
    with pytest.raises(NotFound):
        await store.directory.remove_alias("rob@example.com")


async def test_list_principals_filters_by_domain_kind_and_query(store: SQLStore) -> None:
    d = store.directory
    await d.create_domain("a.example")
    await d.create_domain("b.example")
    await d.create_principal(PrincipalKind.USER, "ann@a.example", display_name="Ann Smith")
    await d.create_principal(PrincipalKind.USER, "bob@b.example")
    await d.create_principal(PrincipalKind.GROUP, "all@a.example")
    assert [p.name for p in await d.list_principals()] == [
        "all@a.example",
        "ann@a.example",
        "bob@b.example",
    ]
    assert [p.name for p in await d.list_principals(domain="a.example")] == [
        "all@a.example",
        "ann@a.example",
    ]
    assert [p.name for p in await d.list_principals(kind=PrincipalKind.USER)] == [
        "ann@a.example",
        "bob@b.example",
    ]
    assert [p.name for p in await d.list_principals(query="SMITH")] == ["ann@a.example"]
    assert [p.name for p in await d.list_principals(query="%")] == []
    assert [p.name for p in await d.list_principals(offset=1, limit=1)] == ["ann@a.example"]


async def test_update_principal_changes_fields_and_clears_quota(store: SQLStore) -> None:
    await store.directory.create_domain("example.com")
    user = await store.directory.create_principal(
        PrincipalKind.USER, "a@example.com", quota_bytes=10
    )
    updated = await store.directory.update_principal(
        user.id, display_name="A", enabled=False, role=Role.GLOBAL_ADMIN, per_user_seen=False
    )
    assert (updated.display_name, updated.enabled, updated.role) == ("A", False, Role.GLOBAL_ADMIN)
    assert updated.quota_bytes == 10 and not updated.per_user_seen
    assert (await store.directory.update_principal(user.id, quota_bytes=99)).quota_bytes == 99
    assert (await store.directory.update_principal(user.id, clear_quota=True)).quota_bytes is None
    with pytest.raises(InvalidInput):
        await store.directory.update_principal(user.id, quota_bytes=-1)
    with pytest.raises(NotFound):
        await store.directory.update_principal(PrincipalId(9999), display_name="x")


async def test_credential_returns_password_scram_and_app_password_hashes(store: SQLStore) -> None:
    d = store.directory
    await d.create_domain("example.com")
    user = await d.create_principal(
        PrincipalKind.USER, "a@example.com", password_hash="h1", scram_sha256="s1"
    )
    await d.add_alias(user.id, "alias@example.com")
    await d.set_password(user.id, "h2", "s2")
    app = await d.add_app_password(user.id, "phone", "apphash")
    credential = await d.credential("ALIAS@example.com")
    assert credential.principal.id == user.id
    assert (credential.password_hash, credential.scram_sha256) == ("h2", "s2")
    assert credential.app_password_hashes == ((app.id, "apphash"),)
    with pytest.raises(NotFound):
        await d.credential("nobody@example.com")
    with pytest.raises(NotFound):
        await d.set_password(PrincipalId(9999), "h", None)


async def test_app_passwords_are_listed_touched_and_deleted(store: SQLStore) -> None:
    d = store.directory
    await d.create_domain("example.com")
    user = await d.create_principal(PrincipalKind.USER, "a@example.com")
    other = await d.create_principal(PrincipalKind.USER, "b@example.com")
    first = await d.add_app_password(user.id, "phone", "h1")
    second = await d.add_app_password(user.id, "laptop", "h2")
    assert first.last_used_at is None
    await d.touch_app_password(first.id)
    listed = await d.list_app_passwords(user.id)
    assert [(a.id, a.label) for a in listed] == [(first.id, "phone"), (second.id, "laptop")]
    assert listed[0].last_used_at is not None
    with pytest.raises(NotFound):
        await d.delete_app_password(other.id, first.id)  # not theirs
    await d.delete_app_password(user.id, first.id)
    assert [a.id for a in await d.list_app_passwords(user.id)] == [second.id]
    with pytest.raises(NotFound):
        await d.add_app_password(PrincipalId(9999), "x", "h")


async def test_delete_principal_removes_addresses_memberships_grants_and_data(
    store: SQLStore,
) -> None:
    d = store.directory
    await d.create_domain("example.com")
    user = await d.create_principal(PrincipalKind.USER, "a@example.com")
    group = await d.create_principal(PrincipalKind.GROUP, "g@example.com")
    other = await d.create_principal(PrincipalKind.USER, "b@example.com")
    await d.add_alias(user.id, "alias@example.com")
    await d.add_member(group.id, user.id)
    from tidings.model.directory import Permission

    await d.grant(user.id, other.id, Permission.FULL_ACCESS)
    await d.add_app_password(user.id, "phone", "h")
    await d.delete_principal(user.id)
    with pytest.raises(NotFound):
        await d.get_principal(user.id)
    with pytest.raises(NotFound):
        await d.find_principal("alias@example.com")
    assert await d.list_members(group.id) == []
    assert await d.permissions_of(other.id) == []
    for table, column in [
        ("addresses", "principal_id"),
        ("accounts", "id"),
        ("mailboxes", "account_id"),
        ("changes", "account_id"),
        ("app_passwords", "principal_id"),
    ]:
        assert await _count(store, table, **{column: user.id}) == 0, table
    with pytest.raises(NotFound):
        await d.delete_principal(user.id)
    # The address is free again.
    await d.create_principal(PrincipalKind.USER, "alias@example.com")


async def test_resource_policy_round_trips_and_defaults(store: SQLStore) -> None:
    d = store.directory
    await d.create_domain("example.com")
    room = await d.create_principal(PrincipalKind.ROOM, "room1@example.com")
    user = await d.create_principal(PrincipalKind.USER, "a@example.com")
    assert await d.resource_policy(room.id) == ResourcePolicy()
    policy = ResourcePolicy(
        auto_accept=False,
        allow_conflicts=True,
        capacity=12,
        max_duration_minutes=90,
        booking_window_days=None,
        bookers=(user.id,),
    )
    await d.set_resource_policy(room.id, policy)
    assert await d.resource_policy(room.id) == policy
    with pytest.raises(InvalidInput):
        await d.set_resource_policy(user.id, policy)
    with pytest.raises(NotFound):
        await d.resource_policy(PrincipalId(9999))


async def test_values_too_long_for_their_columns_raise_invalid_input(store: SQLStore) -> None:
    d = store.directory
    await d.create_domain("example.com")
    with pytest.raises(InvalidInput):
        await d.create_principal(PrincipalKind.USER, "a@example.com", display_name="x" * 257)
    user = await d.create_principal(PrincipalKind.USER, "a@example.com")
    with pytest.raises(InvalidInput):
        await d.update_principal(user.id, display_name="x" * 257)
    with pytest.raises(InvalidInput):
        await d.add_app_password(user.id, "x" * 129, "hash")


async def test_delete_principal_removes_its_emails_and_their_index_entries(
    store: SQLStore,
) -> None:
    from sqlalchemy import text

    from tests.backends.helpers import account, headers
    from tidings.model.mail import MailboxRole

    d = store.directory
    await d.create_domain("example.com")
    user = await d.create_principal(PrincipalKind.USER, "a@example.com")
    other = await d.create_principal(PrincipalKind.USER, "b@example.com")
    blob = await store.blobs.put(b"Subject: zebra\r\n\r\nstripes\r\n")
    await store.mail.deliver(
        [(account(user), MailboxRole.INBOX), (account(other), MailboxRole.INBOX)],
        blob,
        headers("zebra", text="stripes"),
    )
    await d.delete_principal(user.id)
    index = "email_fts" if store.db.is_sqlite else "email_search"
    key = "rowid" if store.db.is_sqlite else "email_id"

    async def _indexed(conn: AsyncConnection) -> int:
        return int((await conn.execute(text(f"SELECT count({key}) FROM {index}"))).scalar_one())

    assert await _count(store, "emails", account_id=user.id) == 0
    assert await _count(store, "emails", account_id=other.id) == 1
    assert await store.db.read(_indexed) == 1
    # The blob stays for the other copy (and for `tidings check` to reclaim once unused).
    assert await store.blobs.get(blob.id)
