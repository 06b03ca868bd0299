"""Fixtures for the directory tests: a fake directory and cheap password hashing."""

from __future__ import annotations

import pytest

from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.directory.scram import MIN_ITERATIONS

from .fakes import FakeDirectory

# The minimum SCRAM count keeps PBKDF2 cheap in tests; production uses more.
TEST_SCRAM_ITERATIONS = MIN_ITERATIONS


@pytest.fixture(scope="session")
def hasher() -> PasswordHasher:
    return PasswordHasher(HashParameters.fast_for_tests())


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()
