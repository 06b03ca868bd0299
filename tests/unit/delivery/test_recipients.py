"""Recipient resolution against an in-memory directory."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.delivery.fakes import FakeDirectory, FakeMail, as_directory, as_mail
from tidings.delivery.recipients import RecipientResolver, normalize_domain
from tidings.model.directory import PrincipalKind
from tidings.model.errors import NotFound, PermissionDenied, PolicyRejection, QuotaExceeded
from tidings.model.ids import AccountId, PrincipalId

World = tuple[FakeDirectory, FakeMail, RecipientResolver]


@pytest.fixture
def world() -> World:
    directory, mail = FakeDirectory(), FakeMail()
    directory.add_domain("example.test")
    directory.add_domain("xn--bcher-kva.example")
    bob = directory.add("bob@example.test")
    directory.addresses["robert@example.test"] = bob.id
    carol = directory.add("carol@example.test")
    team = directory.add("team@example.test", PrincipalKind.GROUP)
    leads = directory.add("leads@example.test", PrincipalKind.GROUP)
    directory.members[team.id] = [carol.id, leads.id]
    directory.members[leads.id] = [bob.id, carol.id, team.id]
    directory.add("gone@example.test", enabled=False)
    mail.folders[AccountId(bob.id)] = {"lists"}
    directory.add("post@xn--bcher-kva.example")
    return directory, mail, RecipientResolver(as_directory(directory), as_mail(mail))


async def test_exact_address_and_alias_resolve_to_the_account(world: World) -> None:
    _, _, resolver = world
    for address in ("bob", "robert", "BOB"):
        resolved = await resolver.resolve(address, "Example.Test")
        (target,) = resolved.local
        assert target.account_id == 1 and target.folder is None
        assert not resolved.is_remote


async def test_plus_tag_files_into_an_existing_folder_else_inbox(world: World) -> None:
    _, _, resolver = world
    assert (await resolver.resolve("bob+lists", "example.test")).local[0].folder == "lists"
    assert (await resolver.resolve("bob+other", "example.test")).local[0].folder is None
    with pytest.raises(NotFound):
        await resolver.resolve("nobody+lists", "example.test")


async def test_catch_all_takes_unknown_local_parts(world: World) -> None:
    directory, _, resolver = world
    with pytest.raises(NotFound):
        await resolver.resolve("whoever", "example.test")
    directory.add_domain("example.test", catch_all=directory.addresses["carol@example.test"])
    (target,) = (await resolver.resolve("whoever", "example.test")).local
    assert target.principal.name == "carol@example.test"


async def test_nested_groups_expand_to_each_account_once(world: World) -> None:
    _, _, resolver = world
    resolved = await resolver.resolve("team", "example.test")
    assert sorted(t.principal.name for t in resolved.local) == [
        "bob@example.test", "carol@example.test"]


async def test_disabled_mailbox_is_refused(world: World) -> None:
    _, _, resolver = world
    with pytest.raises(PermissionDenied):
        await resolver.resolve("gone", "example.test")


async def test_other_domains_are_remote(world: World) -> None:
    _, _, resolver = world
    resolved = await resolver.resolve("x", "elsewhere.example")
    assert resolved.is_remote and resolved.local == ()
    assert (await resolver.resolve("x", "[192.0.2.1]")).is_remote


async def test_internationalised_domain_is_looked_up_as_a_labels(world: World) -> None:
    _, _, resolver = world
    assert normalize_domain("Bücher.Example.") == "xn--bcher-kva.example"
    resolved = await resolver.resolve("post", "bücher.example")
    assert resolved.address == "post@xn--bcher-kva.example" and resolved.local


def _limit(directory: FakeDirectory, mail: FakeMail, account: AccountId, limit: int) -> None:
    """A quota as the store keeps it: on the principal, and reported by `quota`."""
    pid = PrincipalId(account)
    directory.principals[pid] = replace(directory.principals[pid], quota_bytes=limit)
    mail.limits[account] = limit


async def test_full_mailbox_is_temporary_and_too_big_is_permanent(world: World) -> None:
    directory, mail, resolver = world
    bob = AccountId(1)
    _limit(directory, mail, bob, 1000)
    mail.usage[bob] = 400
    assert (await resolver.resolve("bob", "example.test", size=500)).local
    with pytest.raises(QuotaExceeded):
        await resolver.resolve("bob", "example.test", size=700)
    with pytest.raises(PolicyRejection) as too_big:
        await resolver.resolve("bob", "example.test", size=5000)
    assert too_big.value.enhanced_code == "5.2.2"
    mail.usage[bob] = 1000
    with pytest.raises(QuotaExceeded):
        await resolver.resolve("bob", "example.test")


async def test_group_skips_members_over_quota(world: World) -> None:
    directory, mail, resolver = world
    _limit(directory, mail, AccountId(1), 10)
    mail.usage[AccountId(1)] = 10
    resolved = await resolver.resolve("team", "example.test")
    assert [t.principal.name for t in resolved.local] == ["carol@example.test"]


async def test_unlimited_mailbox_is_not_asked_for_its_quota(world: World) -> None:
    _, mail, resolver = world
    mail.limits[AccountId(1)] = 10  # the store would not report a limit the user lacks
    mail.usage[AccountId(1)] = 10
    assert (await resolver.resolve("bob", "example.test", size=500)).local
