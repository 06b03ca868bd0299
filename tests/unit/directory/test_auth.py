"""The Authenticator: passwords, app passwords, throttling, rehash and SASL exchanges."""

from __future__ import annotations

import logging

import pytest

from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticated, Authenticator, SASLExchange
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.directory.sasl import Challenge
from tidings.directory.scram import ScramCredential
from tidings.directory.throttle import Throttle, ThrottlePolicy
from tidings.model.directory import Principal, PrincipalKind, Role
from tidings.model.errors import AuthenticationFailed, InvalidInput

from .conftest import TEST_SCRAM_ITERATIONS
from .fakes import FakeDirectory
from .scram_client import client_final

IP = "192.0.2.10"
PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    """Counts verifications, dummy ones included, to check timing safety."""

    def __init__(self, parameters: HashParameters) -> None:
        super().__init__(parameters)
        self.verifications = 0

    def verify_sync(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify_sync(password_hash, password)


@pytest.fixture
def counting_hasher() -> CountingHasher:
    return CountingHasher(HashParameters.fast_for_tests())


@pytest.fixture
def now() -> list[float]:
    return [1000.0]


@pytest.fixture
def authenticator(
    directory: FakeDirectory, counting_hasher: CountingHasher, now: list[float]
) -> Authenticator:
    throttle = Throttle(
        account_policy=ThrottlePolicy(max_failures=3, base_delay_seconds=10),
        clock=lambda: now[0],
    )
    return Authenticator(
        directory, throttle, counting_hasher, scram_iterations=TEST_SCRAM_ITERATIONS
    )


@pytest.fixture
def admin(directory: FakeDirectory, counting_hasher: CountingHasher) -> DirectoryAdmin:
    return DirectoryAdmin(directory, counting_hasher, scram_iterations=TEST_SCRAM_ITERATIONS)


@pytest.fixture
async def tim(admin: DirectoryAdmin) -> Principal:
    await admin.add_domain("example.com")
    principal, _ = await admin.add_user("tim@example.com", password=PASSWORD)
    return principal


# --- authenticate() ------------------------------------------------------------------------
async def test_main_password_authenticates(authenticator: Authenticator, tim: Principal) -> None:
    assert await authenticator.authenticate("tim@example.com", PASSWORD, IP) == tim


async def test_login_by_alias_authenticates(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    await admin.add_alias("timothy@example.com", "tim@example.com")
    assert await authenticator.authenticate("timothy@example.com", PASSWORD, IP) == tim


async def test_wrong_password_fails_unthrottled(
    authenticator: Authenticator, tim: Principal
) -> None:
    with pytest.raises(AuthenticationFailed) as failed:
        await authenticator.authenticate("tim@example.com", "wrong", IP)
    assert not failed.value.throttled


async def test_unknown_user_costs_a_hash_verification(
    authenticator: Authenticator, counting_hasher: CountingHasher, tim: Principal
) -> None:
    before = counting_hasher.verifications
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("nobody@example.com", PASSWORD, IP)
    assert counting_hasher.verifications == before + 1


async def test_app_password_authenticates_and_is_touched(
    authenticator: Authenticator, admin: DirectoryAdmin, directory: FakeDirectory, tim: Principal
) -> None:
    app, secret = await admin.add_app_password("tim@example.com", "phone")
    assert await authenticator.authenticate("tim@example.com", secret, IP) == tim
    assert directory.touched == [app.id]
    assert await authenticator.authenticate("tim@example.com", PASSWORD, IP) == tim


async def test_removed_app_password_no_longer_authenticates(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    app, secret = await admin.add_app_password("tim@example.com", "phone")
    await admin.remove_app_password("tim@example.com", app.id)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("tim@example.com", secret, IP)


async def test_disabled_principal_fails_even_with_the_right_password(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    await admin.update("tim@example.com", enabled=False)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("tim@example.com", PASSWORD, IP)


async def test_group_cannot_log_in(
    authenticator: Authenticator, admin: DirectoryAdmin, directory: FakeDirectory, tim: Principal
) -> None:
    group = await admin.add_principal(PrincipalKind.GROUP, "team@example.com")
    password_hash = await authenticator.hasher.hash(PASSWORD)
    await directory.set_password(group.id, password_hash, None)  # forced past the admin check
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("team@example.com", PASSWORD, IP)


@pytest.mark.parametrize("password", ["", "x" * 2000, "lone \udc80 surrogate"])
async def test_empty_huge_or_unencodable_password_fails(
    authenticator: Authenticator, tim: Principal, password: str
) -> None:
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("tim@example.com", password, IP)


async def test_repeated_failures_throttle_even_the_right_password(
    authenticator: Authenticator, tim: Principal, now: list[float]
) -> None:
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            await authenticator.authenticate("tim@example.com", "wrong", IP)
    with pytest.raises(AuthenticationFailed) as failed:
        await authenticator.authenticate("tim@example.com", PASSWORD, "198.51.100.1")
    assert failed.value.throttled
    now[0] += 10
    assert await authenticator.authenticate("tim@example.com", PASSWORD, IP) == tim


async def test_success_resets_the_account_failure_count(
    authenticator: Authenticator, tim: Principal
) -> None:
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            await authenticator.authenticate("tim@example.com", "wrong", IP)
    await authenticator.authenticate("tim@example.com", PASSWORD, IP)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed) as failed:
            await authenticator.authenticate("tim@example.com", "wrong", IP)
        assert not failed.value.throttled


async def test_outdated_hash_is_upgraded_at_login(
    directory: FakeDirectory, tim: Principal, counting_hasher: CountingHasher
) -> None:
    stronger = PasswordHasher(HashParameters(time_cost=2, memory_cost_kib=128, parallelism=1))
    authenticator = Authenticator(directory, hasher=stronger, scram_iterations=4096)
    await authenticator.authenticate("tim@example.com", PASSWORD, IP)
    stored = directory.secrets[tim.id]
    assert stored.password_hash is not None
    assert not stronger.needs_rehash(stored.password_hash)
    assert stronger.verify_sync(stored.password_hash, PASSWORD)
    assert stored.scram_sha256 is not None


async def test_current_hash_is_left_alone(
    authenticator: Authenticator, directory: FakeDirectory, tim: Principal
) -> None:
    calls = directory.set_password_calls
    await authenticator.authenticate("tim@example.com", PASSWORD, IP)
    assert directory.set_password_calls == calls


async def test_missing_scram_credential_is_added_at_login(
    authenticator: Authenticator, directory: FakeDirectory, tim: Principal
) -> None:
    directory.secrets[tim.id].scram_sha256 = None
    await authenticator.authenticate("tim@example.com", PASSWORD, IP)
    scram = directory.secrets[tim.id].scram_sha256
    assert scram is not None
    assert ScramCredential.parse(scram).iterations == TEST_SCRAM_ITERATIONS


async def test_password_never_reaches_the_logs(
    authenticator: Authenticator, tim: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tidings")
    await authenticator.authenticate("tim@example.com", PASSWORD, IP)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("tim@example.com", "wrong-secret-xyz", IP)
    assert "auth.succeeded" in caplog.text and "auth.failed" in caplog.text
    assert PASSWORD not in caplog.text and "wrong-secret-xyz" not in caplog.text


# --- SASL --------------------------------------------------------------------------------
async def test_sasl_plain_authenticates(authenticator: Authenticator, tim: Principal) -> None:
    exchange = authenticator.sasl("PLAIN", remote_ip=IP)
    result = await exchange.start(f"\0tim@example.com\0{PASSWORD}".encode())
    assert result == Authenticated(tim, tim, "PLAIN", None)


async def test_sasl_plain_with_app_password_authenticates(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    _, secret = await admin.add_app_password("tim@example.com", "laptop")
    exchange = authenticator.sasl("plain", remote_ip=IP)
    assert await exchange.start(None) == Challenge(b"")
    result = await exchange.step(f"\0tim@example.com\0{secret}".encode())
    assert isinstance(result, Authenticated) and result.principal == tim


async def test_sasl_plain_wrong_password_raises_and_counts(
    authenticator: Authenticator, tim: Principal
) -> None:
    for _ in range(3):
        with pytest.raises(AuthenticationFailed) as failed:
            await authenticator.sasl("PLAIN", remote_ip=IP).start(b"\0tim@example.com\0nope")
        assert str(failed.value) == "authentication failed"
    with pytest.raises(AuthenticationFailed) as throttled:
        await authenticator.sasl("PLAIN", remote_ip=IP).start(
            f"\0tim@example.com\0{PASSWORD}".encode()
        )
    assert throttled.value.throttled


async def test_sasl_plain_empty_initial_response_fails(authenticator: Authenticator) -> None:
    # SMTP "AUTH PLAIN =" is an empty response, not a request for a challenge.
    with pytest.raises(AuthenticationFailed):
        await authenticator.sasl("PLAIN", remote_ip=IP).start(b"")


async def test_sasl_malformed_message_raises_with_its_reason(
    authenticator: Authenticator,
) -> None:
    with pytest.raises(AuthenticationFailed, match="authzid NUL authcid NUL password"):
        await authenticator.sasl("PLAIN", remote_ip=IP).start(b"garbage")


async def test_sasl_login_authenticates(authenticator: Authenticator, tim: Principal) -> None:
    exchange = authenticator.sasl("LOGIN", remote_ip=IP)
    assert await exchange.start(None) == Challenge(b"Username:")
    assert await exchange.step(b"tim@example.com") == Challenge(b"Password:")
    result = await exchange.step(PASSWORD.encode())
    assert isinstance(result, Authenticated) and result.principal == tim


async def scram_exchange(exchange: SASLExchange, login: str, password: str) -> Authenticated:
    first = f"n,,n={login},r=clientnonce123".encode()
    server_first = await exchange.start(first)
    assert isinstance(server_first, Challenge)
    result = await exchange.step(client_final(password, first, server_first.data))
    assert isinstance(result, Authenticated)
    return result


async def test_sasl_scram_authenticates_with_the_stored_credential(
    authenticator: Authenticator, tim: Principal
) -> None:
    result = await scram_exchange(
        authenticator.sasl("SCRAM-SHA-256", remote_ip=IP), "tim@example.com", PASSWORD
    )
    assert result.principal == tim
    assert result.server_final is not None and result.server_final.startswith(b"v=")


async def test_sasl_scram_wrong_password_fails(
    authenticator: Authenticator, tim: Principal
) -> None:
    with pytest.raises(AuthenticationFailed):
        await scram_exchange(
            authenticator.sasl("SCRAM-SHA-256", remote_ip=IP), "tim@example.com", "wrong"
        )


@pytest.mark.parametrize("case", ["unknown", "disabled", "no_scram"])
async def test_sasl_scram_without_a_usable_credential_fails_at_the_end(
    authenticator: Authenticator,
    admin: DirectoryAdmin,
    directory: FakeDirectory,
    tim: Principal,
    case: str,
) -> None:
    login = "ghost@example.com" if case == "unknown" else "tim@example.com"
    if case == "disabled":
        await admin.update("tim@example.com", enabled=False)
    if case == "no_scram":
        directory.secrets[tim.id].scram_sha256 = None
    with pytest.raises(AuthenticationFailed, match="authentication failed"):
        await scram_exchange(authenticator.sasl("SCRAM-SHA-256", remote_ip=IP), login, PASSWORD)


async def test_sasl_scram_refuses_channel_binding_clearly(authenticator: Authenticator) -> None:
    with pytest.raises(AuthenticationFailed, match="channel binding is not supported"):
        await authenticator.sasl("SCRAM-SHA-256", remote_ip=IP).start(
            b"p=tls-exporter,,n=tim,r=abc"
        )


async def test_admin_may_impersonate_when_allowed(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    boss, _ = await admin.add_user("boss@example.com", password="boss pw", role=Role.GLOBAL_ADMIN)
    exchange = authenticator.sasl("PLAIN", remote_ip=IP, allow_impersonation=True)
    result = await exchange.start(b"tim@example.com\0boss@example.com\0boss pw")
    assert isinstance(result, Authenticated)
    assert (result.principal, result.authenticated_as) == (tim, boss)


async def test_plain_user_may_not_impersonate_even_when_allowed(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    await admin.add_user("eve@example.com", password="eve pw")
    exchange = authenticator.sasl("PLAIN", remote_ip=IP, allow_impersonation=True)
    with pytest.raises(AuthenticationFailed, match="global admin"):
        await exchange.start(b"tim@example.com\0eve@example.com\0eve pw")


async def test_impersonation_is_refused_unless_allowed(
    authenticator: Authenticator, admin: DirectoryAdmin, tim: Principal
) -> None:
    await admin.add_user("boss@example.com", password="boss pw", role=Role.GLOBAL_ADMIN)
    with pytest.raises(AuthenticationFailed):
        await authenticator.sasl("PLAIN", remote_ip=IP).start(
            b"tim@example.com\0boss@example.com\0boss pw"
        )


async def test_exchange_cannot_continue_after_its_end(
    authenticator: Authenticator, tim: Principal
) -> None:
    exchange = authenticator.sasl("PLAIN", remote_ip=IP)
    await exchange.start(f"\0tim@example.com\0{PASSWORD}".encode())
    with pytest.raises(AuthenticationFailed, match="already over"):
        await exchange.step(b"more")


def test_unsupported_mechanism_is_invalid_input(authenticator: Authenticator) -> None:
    with pytest.raises(InvalidInput) as invalid:
        authenticator.sasl("CRAM-MD5", remote_ip=IP)
    assert invalid.value.field == "mechanism"


def test_plaintext_mechanisms_are_offered_only_over_tls(authenticator: Authenticator) -> None:
    assert authenticator.mechanisms(tls=False) == ("SCRAM-SHA-256",)
    assert authenticator.mechanisms(tls=True) == ("SCRAM-SHA-256", "PLAIN", "LOGIN")


async def test_disabled_principal_app_password_fails_and_is_not_touched(
    authenticator: Authenticator, admin: DirectoryAdmin, directory: FakeDirectory, tim: Principal
) -> None:
    _, secret = await admin.add_app_password("tim@example.com", "phone")
    await admin.update("tim@example.com", enabled=False)
    with pytest.raises(AuthenticationFailed):
        await authenticator.authenticate("tim@example.com", secret, IP)
    assert directory.touched == []
