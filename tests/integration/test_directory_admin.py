"""DirectoryAdmin and the Authenticator over the real SQLite store."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticated, Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.directory.sasl import Challenge
from tidings.directory.scram import client_proof, salted_password
from tidings.model.directory import Permission, PrincipalKind
from tidings.model.errors import AuthenticationFailed, Conflict, NotFound

if TYPE_CHECKING:
    from tidings.store import SQLStore as Store


ITERATIONS = 4096
IP = "127.0.0.1"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    from tidings.store import open_store

    opened = await open_store(f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(HashParameters.fast_for_tests())


@pytest.fixture
def admin(store: Store, hasher: PasswordHasher) -> DirectoryAdmin:
    return DirectoryAdmin(store.directory, hasher, scram_iterations=ITERATIONS)


@pytest.fixture
def authenticator(store: Store, hasher: PasswordHasher) -> Authenticator:
    return Authenticator(store.directory, hasher=hasher, scram_iterations=ITERATIONS)


async def test_user_lifecycle_with_password_alias_and_app_password(
    admin: DirectoryAdmin, authenticator: Authenticator
) -> None:
    domain = await admin.add_domain("Bücher.Example")
    assert domain.name == "xn--bcher-kva.example"
    tim, generated = await admin.add_user("Tim@bücher.example", display_name="Tim")
    assert tim.name == "tim@xn--bcher-kva.example" and generated is not None

    assert await authenticator.authenticate(tim.name, generated, IP) == tim
    await admin.add_alias("timothy@bücher.example", tim.name)
    assert await admin.aliases(tim.name) == ["timothy@xn--bcher-kva.example"]
    assert await authenticator.authenticate("timothy@xn--bcher-kva.example", generated, IP) == tim

    app, secret = await admin.add_app_password(tim.name, "phone")
    assert await authenticator.authenticate(tim.name, secret, IP) == tim
    [listed] = await admin.list_app_passwords(tim.name)
    assert listed.id == app.id and listed.last_used_at is not None

    await admin.update(tim.name, enabled=False)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate(tim.name, generated, IP)

    await admin.remove(tim.name)
    with pytest.raises(NotFound):
        await admin.show(tim.name)


async def test_set_password_enables_scram_over_the_store(
    admin: DirectoryAdmin, authenticator: Authenticator
) -> None:
    await admin.add_domain("example.com")
    await admin.add_user("tim@example.com", password="first")
    await admin.set_password("tim@example.com", "pencil")

    exchange = authenticator.sasl("SCRAM-SHA-256", remote_ip=IP)
    first = b"n,,n=tim@example.com,r=clientnonce"
    server_first = await exchange.start(first)
    assert isinstance(server_first, Challenge)
    fields = dict(f.split("=", 1) for f in server_first.data.decode().split(","))
    salted = salted_password("pencil", base64.b64decode(fields["s"]), int(fields["i"]))
    without_proof = b"c=biws,r=" + fields["r"].encode()
    auth_message = b",".join((first[3:], server_first.data, without_proof))
    proof = base64.b64encode(client_proof(salted, auth_message))
    result = await exchange.step(without_proof + b",p=" + proof)
    assert isinstance(result, Authenticated)
    assert result.principal.name == "tim@example.com"


async def test_groups_permissions_and_domain_removal(admin: DirectoryAdmin) -> None:
    await admin.add_domain("example.com")
    team = await admin.add_principal(PrincipalKind.GROUP, "team@example.com")
    sales = await admin.add_principal(PrincipalKind.SHARED, "sales@example.com")
    tim, _ = await admin.add_user("tim@example.com")
    await admin.add_member(team.name, tim.name)
    assert [m.name for m in await admin.members(team.name)] == [tim.name]
    await admin.grant(sales.name, tim.name, Permission.FULL_ACCESS)
    await admin.revoke(sales.name, tim.name, Permission.FULL_ACCESS)
    with pytest.raises(Conflict):
        await admin.remove_domain("example.com")
    for address in (team.name, sales.name, tim.name):
        await admin.remove(address)
    await admin.remove_domain("example.com")
    assert list(await admin.list_domains()) == []
