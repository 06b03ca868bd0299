"""argon2id hashing, rehash detection and generated passwords."""

from __future__ import annotations

import pytest

from tidings.directory.passwords import (
    PASSWORD_ALPHABET,
    HashParameters,
    PasswordHasher,
    generate_password,
    password_secrets,
)
from tidings.directory.scram import ScramCredential


async def test_hash_then_verify_round_trips(hasher: PasswordHasher) -> None:
    password_hash = await hasher.hash("s3cret pässword")
    assert password_hash.startswith("$argon2id$")
    assert await hasher.verify(password_hash, "s3cret pässword")
    assert not await hasher.verify(password_hash, "s3cret password")


async def test_same_password_hashes_differently_each_time(hasher: PasswordHasher) -> None:
    assert await hasher.hash("x") != await hasher.hash("x")


@pytest.mark.parametrize("corrupt", ["", "plain text", "$argon2id$v=19$m=64,t=1,p=1$broken"])
async def test_corrupt_hash_is_a_mismatch_not_an_error(
    hasher: PasswordHasher, corrupt: str
) -> None:
    assert not await hasher.verify(corrupt, "x")
    assert hasher.needs_rehash(corrupt)


def test_hash_with_other_parameters_needs_rehash(hasher: PasswordHasher) -> None:
    stronger = PasswordHasher(HashParameters(time_cost=2, memory_cost_kib=128, parallelism=1))
    weak_hash = hasher.hash_sync("pw")
    assert stronger.needs_rehash(weak_hash)
    assert not hasher.needs_rehash(weak_hash)
    assert stronger.verify_sync(weak_hash, "pw")  # still verifies with old parameters


def test_default_parameters_follow_rfc_9106() -> None:
    parameters = HashParameters()
    assert (parameters.time_cost, parameters.memory_cost_kib, parameters.parallelism) == (
        3,
        65536,
        4,
    )


async def test_dummy_verification_completes(hasher: PasswordHasher) -> None:
    await hasher.verify_dummy("anything")


def test_generated_password_has_20_unambiguous_characters() -> None:
    password = generate_password()
    assert len(password) == 20
    assert set(password) <= set(PASSWORD_ALPHABET)
    assert not set("0O1lI") & set(PASSWORD_ALPHABET)


def test_generated_passwords_differ() -> None:
    assert len({generate_password() for _ in range(50)}) == 50


def test_too_short_generated_password_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_password(7)


async def test_password_secrets_give_a_hash_and_a_scram_credential(
    hasher: PasswordHasher,
) -> None:
    password_hash, scram = await password_secrets(hasher, "pw", scram_iterations=4096)
    assert await hasher.verify(password_hash, "pw")
    assert ScramCredential.parse(scram).iterations == 4096
