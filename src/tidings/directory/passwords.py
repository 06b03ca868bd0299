"""Password hashing with argon2id (RFC 9106) and random password generation.

Hashing and verification cost tens of milliseconds of CPU and memory on purpose,
so the async methods run them in a worker thread and never block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from tidings.directory.scram import DEFAULT_ITERATIONS, derive_credential

log = logging.getLogger(__name__)

# No 0/O, 1/l/I: people copy generated passwords by eye from a console.
PASSWORD_ALPHABET = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
DEFAULT_PASSWORD_LENGTH = 20


@dataclass(frozen=True, slots=True)
class HashParameters:
    """argon2id cost parameters; the defaults are RFC 9106 §4's second recommendation."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4

    @classmethod
    def fast_for_tests(cls) -> HashParameters:
        """Cheap parameters for unit tests only; never use them in production."""
        return cls(time_cost=1, memory_cost_kib=64, parallelism=1)


class PasswordHasher:
    """argon2id hashing and verification; the async methods run in a worker thread."""

    def __init__(self, parameters: HashParameters | None = None) -> None:
        self.parameters = parameters or HashParameters()
        self._argon2 = argon2.PasswordHasher(
            time_cost=self.parameters.time_cost,
            memory_cost=self.parameters.memory_cost_kib,
            parallelism=self.parameters.parallelism,
            type=argon2.Type.ID,
        )
        # A real hash of a random secret, verified when the user is unknown so that
        # a missing account costs the same time as a wrong password. Made on first
        # use, so that building a hasher (as every CLI command does) stays cheap.
        self._dummy_hash: str | None = None

    def hash_sync(self, password: str) -> str:
        """Hash `password` on the calling thread (blocks for the full argon2 cost)."""
        return str(self._argon2.hash(password))

    def verify_sync(self, password_hash: str, password: str) -> bool:
        """True if `password` matches; a corrupt or foreign hash is a mismatch, not an error."""
        try:
            return bool(self._argon2.verify(password_hash, password))
        except VerificationError:
            return False
        except UnicodeError:  # a lone surrogate cannot be any stored password
            return False
        except InvalidHashError:
            log.warning("directory.password_hash_invalid")
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other parameters (or is not argon2id at all)."""
        try:
            return bool(self._argon2.check_needs_rehash(password_hash))
        except (InvalidHashError, ValueError):
            return True

    async def hash(self, password: str) -> str:
        """Hash `password` in a worker thread."""
        return await asyncio.to_thread(self.hash_sync, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Verify `password` against `password_hash` in a worker thread."""
        return await asyncio.to_thread(self.verify_sync, password_hash, password)

    async def verify_dummy(self, password: str) -> None:
        """Spend one verification's time on nothing (unknown user; timing safety)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(24))
        await asyncio.to_thread(self.verify_sync, self._dummy_hash, password)


def generate_password(length: int = DEFAULT_PASSWORD_LENGTH) -> str:
    """A random password from an unambiguous alphabet (about 5.8 bits per character)."""
    if length < 8:
        raise ValueError("a generated password needs at least 8 characters")
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


async def password_secrets(
    hasher: PasswordHasher, password: str, *, scram_iterations: int = DEFAULT_ITERATIONS
) -> tuple[str, str]:
    """(argon2id hash, serialised SCRAM-SHA-256 credential) for a new password.

    Both are always stored together, so every SASL mechanism works for the account.
    """
    password_hash = await hasher.hash(password)
    credential = await asyncio.to_thread(derive_credential, password, iterations=scram_iterations)
    return password_hash, credential.serialize()
