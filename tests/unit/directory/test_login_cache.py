"""The verified-password cache: skips the hash only while the stored credential is
unchanged (docs/decisions/0003a)."""

from __future__ import annotations

import pytest

from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticator
from tidings.directory.login_cache import LoginCache
from tidings.directory.passwords import HashParameters
from tidings.directory.throttle import Throttle
from tidings.model.directory import Principal, PrincipalKind, Role
from tidings.model.errors import AuthenticationFailed

from .conftest import TEST_SCRAM_ITERATIONS
from .fakes import FakeDirectory
from .test_auth import CountingHasher

IP = "192.0.2.10"
PASSWORD = "correct horse battery"
ALICE = Principal(id=1, kind=PrincipalKind.USER, name="alice@example.test",  # type: ignore[arg-type]
                  domain_id=1, role=Role.USER)  # type: ignore[arg-type]


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher(HashParameters.fast_for_tests())


@pytest.fixture
async def setup(
    directory: FakeDirectory, hasher: CountingHasher
) -> tuple[Authenticator, DirectoryAdmin]:
    admin = DirectoryAdmin(directory, hasher, scram_iterations=TEST_SCRAM_ITERATIONS)
    await admin.add_domain("example.com")
    await admin.add_user("tim@example.com", password=PASSWORD)
    authenticator = Authenticator(directory, Throttle(), hasher,
                                  scram_iterations=TEST_SCRAM_ITERATIONS, logins=LoginCache())
    return authenticator, admin


async def test_a_repeated_pair_skips_the_hash(
    setup: tuple[Authenticator, DirectoryAdmin], hasher: CountingHasher
) -> None:
    authenticator, _ = setup
    first = await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)
    hashed = hasher.verifications
    again = await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)
    assert again.id == first.id and hasher.verifications == hashed


async def test_a_password_change_takes_effect_at_once(
    setup: tuple[Authenticator, DirectoryAdmin],
) -> None:
    authenticator, admin = setup
    await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)
    await admin.set_password("tim@example.com", "a new password entirely")
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)
    assert await authenticator.authenticate_cached("tim@example.com", "a new password entirely", IP)


async def test_disabling_the_account_takes_effect_at_once(
    setup: tuple[Authenticator, DirectoryAdmin],
) -> None:
    authenticator, admin = setup
    await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)
    await admin.update("tim@example.com", enabled=False)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)


async def test_a_removed_app_password_stops_working_at_once(
    setup: tuple[Authenticator, DirectoryAdmin],
) -> None:
    authenticator, admin = setup
    app, secret = await admin.add_app_password("tim@example.com", "phone")
    await authenticator.authenticate_cached("tim@example.com", secret, IP)
    await admin.remove_app_password("tim@example.com", app.id)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate_cached("tim@example.com", secret, IP)


async def test_a_wrong_password_is_never_served_from_the_cache(
    setup: tuple[Authenticator, DirectoryAdmin],
) -> None:
    authenticator, _ = setup
    await authenticator.authenticate_cached("tim@example.com", PASSWORD, IP)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate_cached("tim@example.com", PASSWORD + "x", IP)


def test_entries_expire_after_the_ttl_and_the_cache_is_bounded() -> None:
    now = [100.0]
    cache = LoginCache(ttl=60.0, max_entries=2, clock=lambda: now[0])
    cache.put("Alice@Example.test", "secret", ALICE, "f1")
    assert cache.get("alice@example.test", "secret") == (ALICE, "f1")
    assert cache.get("alice@example.test", "Secret") is None
    now[0] += 61.0
    assert cache.get("alice@example.test", "secret") is None and len(cache) == 0
    for login in ("a", "b", "c"):
        cache.put(login, "1", ALICE, "f")
    assert cache.get("a", "1") is None and len(cache) == 2
    cache.forget("B")
    assert cache.get("b", "1") is None and cache.get("c", "1") == (ALICE, "f")


def test_the_cache_never_holds_the_password() -> None:
    cache = LoginCache()
    cache.put("alice", "hunter2-password", ALICE, "f")
    assert all(b"hunter2" not in key[1] for key in cache._entries)
