"""SCRAM-SHA-256 stored credentials (RFC 5802 §3, RFC 7677).

A stored credential is what the server keeps instead of the password: the salt,
the iteration count, StoredKey and ServerKey. It is serialised as
``"iterations$salt_b64$stored_key_b64$server_key_b64"`` (see
`tidings.model.directory.Credential.scram_sha256`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from tidings.directory.saslprep import saslprep_or_raw

MIN_ITERATIONS = 4096  # RFC 7677 §4: at least 4096
DEFAULT_ITERATIONS = 10_000
MAX_ITERATIONS = 10_000_000  # a stored count above this is corrupt, not careful
SALT_BYTES = 16
DIGEST_BYTES = 32


@dataclass(frozen=True, slots=True)
class ScramCredential:
    """The server's SCRAM-SHA-256 secret for one principal."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    def serialize(self) -> str:
        """The stored form: ``iterations$salt$stored_key$server_key`` (standard base64)."""
        parts = (self.salt, self.stored_key, self.server_key)
        return "$".join([str(self.iterations), *(_b64(p) for p in parts)])

    @classmethod
    def parse(cls, text: str) -> ScramCredential:
        """Parse the stored form. Raises ValueError if it is malformed."""
        fields = text.split("$")
        if len(fields) != 4:
            raise ValueError("a SCRAM credential has four $-separated fields")
        count, salt_b64, stored_b64, server_b64 = fields
        if not count.isascii() or not count.isdigit():
            raise ValueError("SCRAM iteration count is not a number")
        iterations = int(count)
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ValueError(f"SCRAM iteration count {iterations} out of range")
        try:
            salt = base64.b64decode(salt_b64, validate=True)
            stored_key = base64.b64decode(stored_b64, validate=True)
            server_key = base64.b64decode(server_b64, validate=True)
        except binascii.Error as exc:
            raise ValueError("SCRAM credential holds invalid base64") from exc
        if not salt or len(stored_key) != DIGEST_BYTES or len(server_key) != DIGEST_BYTES:
            raise ValueError("SCRAM credential has a wrong salt or key length")
        return cls(iterations, salt, stored_key, server_key)


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    """SaltedPassword := Hi(Normalize(password), salt, i) (RFC 5802 §3)."""
    normalized = saslprep_or_raw(password).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", normalized, salt, iterations)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def derive_credential(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> ScramCredential:
    """Derive the stored credential from a password (RFC 5802 §3).

    Raises ValueError if `iterations` is below RFC 7677's minimum of 4096.
    """
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"SCRAM-SHA-256 needs at least {MIN_ITERATIONS} iterations")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    salted = salted_password(password, salt, iterations)
    client_key = hmac_sha256(salted, b"Client Key")
    server_key = hmac_sha256(salted, b"Server Key")
    return ScramCredential(iterations, salt, sha256(client_key), server_key)


def client_proof(credential_salted: bytes, auth_message: bytes) -> bytes:
    """ClientProof for a salted password (what a client sends; used by tests and tools)."""
    client_key = hmac_sha256(credential_salted, b"Client Key")
    signature = hmac_sha256(sha256(client_key), auth_message)
    return xor(client_key, signature)


def verify_proof(credential: ScramCredential, auth_message: bytes, proof: bytes) -> bool:
    """True if `proof` shows knowledge of the password (RFC 5802 §3, server side)."""
    if len(proof) != DIGEST_BYTES:
        return False
    signature = hmac_sha256(credential.stored_key, auth_message)
    client_key = xor(proof, signature)
    return hmac.compare_digest(sha256(client_key), credential.stored_key)


def server_signature(credential: ScramCredential, auth_message: bytes) -> bytes:
    """ServerSignature := HMAC(ServerKey, AuthMessage), sent as "v=" (RFC 5802 §3)."""
    return hmac_sha256(credential.server_key, auth_message)


def xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
