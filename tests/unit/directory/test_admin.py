"""DirectoryAdmin: the operations the CLI and the REST API share."""

from __future__ import annotations

import json

import pytest

from tidings.directory.admin import (
    DirectoryAdmin,
    app_password_as_json,
    domain_as_json,
    principal_as_json,
)
from tidings.directory.passwords import PASSWORD_ALPHABET, PasswordHasher
from tidings.directory.scram import ScramCredential
from tidings.model.directory import Permission, PrincipalKind, Role
from tidings.model.errors import Conflict, InvalidInput, NotFound

from .conftest import TEST_SCRAM_ITERATIONS
from .fakes import FakeDirectory


@pytest.fixture
async def admin(directory: FakeDirectory, hasher: PasswordHasher) -> DirectoryAdmin:
    admin = DirectoryAdmin(directory, hasher, scram_iterations=TEST_SCRAM_ITERATIONS)
    await admin.add_domain("Example.com")
    return admin


# --- domains -----------------------------------------------------------------------------
async def test_add_domain_stores_the_a_label(admin: DirectoryAdmin) -> None:
    domain = await admin.add_domain("Bücher.example")
    assert domain.name == "xn--bcher-kva.example"
    assert await admin.show_domain("bücher.example") == domain
    assert [d.name for d in await admin.list_domains()] == ["example.com", "xn--bcher-kva.example"]


async def test_add_domain_twice_conflicts(admin: DirectoryAdmin) -> None:
    with pytest.raises(Conflict):
        await admin.add_domain("EXAMPLE.COM")


async def test_invalid_domain_names_the_domain_field(admin: DirectoryAdmin) -> None:
    with pytest.raises(InvalidInput) as invalid:
        await admin.add_domain("not a domain")
    assert invalid.value.field == "domain"


async def test_remove_domain_with_users_conflicts_then_succeeds(admin: DirectoryAdmin) -> None:
    await admin.add_user("tim@example.com")
    with pytest.raises(Conflict):
        await admin.remove_domain("example.com")
    await admin.remove("tim@example.com")
    await admin.remove_domain("example.com")
    with pytest.raises(NotFound):
        await admin.show_domain("example.com")


async def test_catch_all_points_at_a_principal(admin: DirectoryAdmin) -> None:
    tim, _ = await admin.add_user("tim@example.com")
    assert (await admin.set_catch_all("example.com", "tim@example.com")).catch_all == tim.id
    assert (await admin.set_catch_all("example.com", None)).catch_all is None


# --- users and passwords -----------------------------------------------------------------
async def test_add_user_without_password_returns_a_generated_one(
    admin: DirectoryAdmin, directory: FakeDirectory, hasher: PasswordHasher
) -> None:
    tim, generated = await admin.add_user("Tim@Example.com", display_name=" Tim ")
    assert tim.name == "tim@example.com" and tim.display_name == "Tim"
    assert generated is not None and len(generated) == 20
    assert set(generated) <= set(PASSWORD_ALPHABET)
    stored = directory.secrets[tim.id]
    assert stored.password_hash is not None
    assert hasher.verify_sync(stored.password_hash, generated)
    assert stored.scram_sha256 is not None
    assert ScramCredential.parse(stored.scram_sha256).iterations == TEST_SCRAM_ITERATIONS


async def test_add_user_with_password_returns_none(
    admin: DirectoryAdmin, directory: FakeDirectory, hasher: PasswordHasher
) -> None:
    tim, generated = await admin.add_user(
        "tim@example.com", password="chosen pw", role=Role.DOMAIN_ADMIN, quota_bytes=1 << 30
    )
    assert generated is None
    assert (tim.role, tim.quota_bytes) == (Role.DOMAIN_ADMIN, 1 << 30)
    stored_hash = directory.secrets[tim.id].password_hash
    assert stored_hash is not None and hasher.verify_sync(stored_hash, "chosen pw")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"password": ""}, "password"),
        ({"password": "a\x00b"}, "password"),
        ({"password": "x" * 1025}, "password"),
        ({"password": "\udc80"}, "password"),
        ({"display_name": "two\nlines"}, "display_name"),
        ({"quota_bytes": -1}, "quota_bytes"),
    ],
)
async def test_add_user_refuses_bad_fields(
    admin: DirectoryAdmin, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as invalid:
        await admin.add_user("tim@example.com", **kwargs)  # type: ignore[arg-type]
    assert invalid.value.field == field


async def test_add_user_in_unknown_domain_is_not_found(admin: DirectoryAdmin) -> None:
    with pytest.raises(NotFound):
        await admin.add_user("tim@elsewhere.org")


async def test_add_user_with_bad_address_names_the_address_field(admin: DirectoryAdmin) -> None:
    with pytest.raises(InvalidInput) as invalid:
        await admin.add_user("tim@@example.com")
    assert invalid.value.field == "address"


async def test_set_password_replaces_both_secrets(
    admin: DirectoryAdmin, directory: FakeDirectory, hasher: PasswordHasher
) -> None:
    tim, _ = await admin.add_user("tim@example.com", password="old pw")
    old_scram = directory.secrets[tim.id].scram_sha256
    assert await admin.set_password("TIM@example.com", "new pw") is None
    stored = directory.secrets[tim.id]
    assert stored.password_hash is not None and hasher.verify_sync(stored.password_hash, "new pw")
    assert stored.scram_sha256 not in (None, old_scram)


async def test_set_password_without_one_generates_it(
    admin: DirectoryAdmin, directory: FakeDirectory, hasher: PasswordHasher
) -> None:
    tim, _ = await admin.add_user("tim@example.com", password="old pw")
    generated = await admin.set_password("tim@example.com")
    assert generated is not None
    stored_hash = directory.secrets[tim.id].password_hash
    assert stored_hash is not None and hasher.verify_sync(stored_hash, generated)


async def test_group_cannot_get_a_password(admin: DirectoryAdmin) -> None:
    await admin.add_principal(PrincipalKind.GROUP, "team@example.com")
    with pytest.raises(InvalidInput):
        await admin.set_password("team@example.com", "pw")


# --- principals --------------------------------------------------------------------------
async def test_add_principal_creates_each_kind(admin: DirectoryAdmin) -> None:
    for kind in (
        PrincipalKind.GROUP,
        PrincipalKind.SHARED,
        PrincipalKind.ROOM,
        PrincipalKind.EQUIPMENT,
    ):
        principal = await admin.add_principal(
            kind, f"{kind.value}@Example.com", display_name="Thing"
        )
        assert (principal.kind, principal.name) == (kind, f"{kind.value}@example.com")
    rooms = await admin.list_principals(kind=PrincipalKind.ROOM)
    assert [p.name for p in rooms] == ["room@example.com"]


async def test_list_principals_filters_and_pages(admin: DirectoryAdmin) -> None:
    await admin.add_domain("other.org")
    for name in ("a@example.com", "b@example.com", "c@other.org"):
        await admin.add_user(name)
    assert [p.name for p in await admin.list_principals(domain="EXAMPLE.com")] == [
        "a@example.com",
        "b@example.com",
    ]
    assert [p.name for p in await admin.list_principals(offset=1, limit=1)] == ["b@example.com"]
    assert [p.name for p in await admin.list_principals(query="other")] == ["c@other.org"]
    with pytest.raises(InvalidInput):
        await admin.list_principals(limit=0)


async def test_update_changes_only_given_attributes(admin: DirectoryAdmin) -> None:
    await admin.add_user("tim@example.com", display_name="Tim", quota_bytes=100)
    updated = await admin.update("tim@example.com", enabled=False, role=Role.HELPDESK)
    assert (updated.enabled, updated.role, updated.display_name) == (False, Role.HELPDESK, "Tim")
    assert (await admin.update("tim@example.com", clear_quota=True)).quota_bytes is None


async def test_remove_deletes_the_principal(admin: DirectoryAdmin) -> None:
    await admin.add_user("tim@example.com")
    await admin.remove("tim@example.com")
    with pytest.raises(NotFound):
        await admin.show("tim@example.com")


# --- groups, aliases, permissions --------------------------------------------------------
async def test_group_membership_round_trips(admin: DirectoryAdmin) -> None:
    await admin.add_principal(PrincipalKind.GROUP, "team@example.com")
    tim, _ = await admin.add_user("tim@example.com")
    await admin.add_member("team@example.com", "Tim@example.com")
    assert await admin.members("team@example.com") == [tim]
    await admin.remove_member("team@example.com", "tim@example.com")
    assert await admin.members("team@example.com") == []


async def test_members_of_a_non_group_is_invalid(admin: DirectoryAdmin) -> None:
    await admin.add_user("tim@example.com")
    with pytest.raises(InvalidInput) as invalid:
        await admin.add_member("tim@example.com", "tim@example.com")
    assert invalid.value.field == "group"


async def test_aliases_round_trip(admin: DirectoryAdmin) -> None:
    tim, _ = await admin.add_user("tim@example.com")
    await admin.add_alias("Timothy@Example.com", "tim@example.com")
    assert await admin.aliases("tim@example.com") == ["timothy@example.com"]
    assert await admin.show("timothy@example.com") == tim
    with pytest.raises(Conflict):
        await admin.add_alias("timothy@example.com", "tim@example.com")
    await admin.remove_alias("timothy@example.com")
    assert await admin.aliases("tim@example.com") == []


async def test_bad_alias_names_the_alias_field(admin: DirectoryAdmin) -> None:
    await admin.add_user("tim@example.com")
    with pytest.raises(InvalidInput) as invalid:
        await admin.add_alias("no-at-sign", "tim@example.com")
    assert invalid.value.field == "alias"


async def test_grant_and_revoke_permissions(
    admin: DirectoryAdmin, directory: FakeDirectory
) -> None:
    shared = await admin.add_principal(PrincipalKind.SHARED, "sales@example.com")
    tim, _ = await admin.add_user("tim@example.com")
    await admin.grant("sales@example.com", "tim@example.com", Permission.SEND_AS)
    assert await directory.permissions_of(tim.id) == [(shared.id, Permission.SEND_AS)]
    await admin.revoke("sales@example.com", "tim@example.com", Permission.SEND_AS)
    assert await directory.permissions_of(tim.id) == []


# --- app passwords -----------------------------------------------------------------------
async def test_app_passwords_are_listed_without_secrets(
    admin: DirectoryAdmin, directory: FakeDirectory, hasher: PasswordHasher
) -> None:
    tim, _ = await admin.add_user("tim@example.com")
    app, secret = await admin.add_app_password("tim@example.com", " phone ")
    assert app.label == "phone" and len(secret) == 20
    assert await admin.list_app_passwords("tim@example.com") == [app]
    assert hasher.verify_sync(directory.secrets[tim.id].app_passwords[app.id][1], secret)
    await admin.remove_app_password("tim@example.com", app.id)
    assert await admin.list_app_passwords("tim@example.com") == []


@pytest.mark.parametrize("label", ["", "   ", "x" * 101, "a\nb"])
async def test_app_password_needs_a_one_line_label(admin: DirectoryAdmin, label: str) -> None:
    await admin.add_user("tim@example.com")
    with pytest.raises(InvalidInput) as invalid:
        await admin.add_app_password("tim@example.com", label)
    assert invalid.value.field == "label"


# --- JSON views --------------------------------------------------------------------------
async def test_json_views_serialise_with_plain_values(admin: DirectoryAdmin) -> None:
    tim, _ = await admin.add_user("tim@example.com", display_name="Tim", role=Role.AUDITOR)
    view = principal_as_json(tim)
    assert view["address"] == "tim@example.com" and view["kind"] == "user"
    assert view["role"] == "auditor" and view["domain"] == "example.com"
    assert "password" not in json.dumps(view)
    app, _ = await admin.add_app_password("tim@example.com", "phone")
    domain = await admin.show_domain("example.com")
    text = json.dumps([view, domain_as_json(domain), app_password_as_json(app)])
    assert json.loads(text)[1]["name"] == "example.com"
    assert json.loads(text)[2]["last_used_at"] is None
