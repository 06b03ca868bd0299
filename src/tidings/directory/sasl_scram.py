"""The SCRAM-SHA-256 server mechanism (RFC 5802 §5 and §7, RFC 7677), without
channel binding: gs2 flags "n" and "y" are accepted, "p" is refused.

We never advertise SCRAM-SHA-256-PLUS, so a "y" client (one that could bind but
believes we cannot) is telling the truth, and RFC 5802 §6 lets us proceed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Callable
from typing import ClassVar

from tidings.directory.sasl import (
    INVALID_CREDENTIALS,
    MAX_MESSAGE_BYTES,
    Challenge,
    CredentialAnswer,
    ExchangeState,
    Failure,
    NeedCredential,
    Step,
    Success,
    check_authzid,
    decode_text,
)
from tidings.directory.scram import (
    DEFAULT_ITERATIONS,
    DIGEST_BYTES,
    SALT_BYTES,
    ScramCredential,
    hmac_sha256,
    server_signature,
    verify_proof,
)

# One key per process: a probe for an unknown user sees the same fake salt each time.
_MOCK_KEY = secrets.token_bytes(32)


def random_nonce() -> str:
    """The server's part of the nonce: 24 printable characters, none of them ","."""
    return base64.b64encode(secrets.token_bytes(18)).decode("ascii")


def decode_saslname(value: str) -> str | None:
    """RFC 5802 §7 saslname: "=2C" is ",", "=3D" is "=", any other "=" is invalid."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "=":
            escape = value[i : i + 3]
            if escape == "=2C":
                out.append(",")
            elif escape == "=3D":
                out.append("=")
            else:
                return None
            i += 3
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _is_printable_nonce(nonce: str) -> bool:
    return bool(nonce) and all("\x21" <= ch <= "\x7e" and ch != "," for ch in nonce)


def _b64decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


class ScramSHA256Mechanism:
    """Server side of SCRAM-SHA-256: client-first, server-first, client-final, server-final."""

    name: ClassVar[str] = "SCRAM-SHA-256"

    def __init__(
        self,
        *,
        allow_impersonation: bool = False,
        mock_iterations: int = DEFAULT_ITERATIONS,
        nonce_factory: Callable[[], str] | None = None,
        mock_key: bytes = _MOCK_KEY,
    ) -> None:
        self.allow_impersonation = allow_impersonation
        self._mock_iterations = mock_iterations
        self._nonce_factory = nonce_factory or random_nonce
        self._mock_key = mock_key
        self._state = ExchangeState.NEW
        self._authcid = ""
        self._authzid = ""
        self._gs2_header = ""
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self._credential: ScramCredential | None = None

    # --- driver interface --------------------------------------------------------
    def start(self, initial_response: bytes | None) -> Step:
        if self._state is not ExchangeState.NEW:
            return self._fail("exchange already started")
        if initial_response is None:
            self._state = ExchangeState.WANT_RESPONSE
            return Challenge(b"")
        return self._client_first(initial_response)

    def step(self, response: bytes) -> Step:
        if self._state is ExchangeState.WANT_RESPONSE:
            return self._client_first(response)
        if self._state is ExchangeState.WANT_FINAL:
            return self._client_final(response)
        return self._fail("unexpected response")

    def resume(self, answer: CredentialAnswer) -> Step:
        """Continue with the stored credential, or None to play on and fail at the end."""
        if self._state is not ExchangeState.WANT_CREDENTIAL:
            return self._fail("no credential was requested")
        if answer is not None and not isinstance(answer, ScramCredential):
            return self._fail("SCRAM needs a stored SCRAM credential")
        self._credential = answer
        salt, iterations = self._salt_and_iterations()
        self._nonce += self._nonce_factory()
        self._server_first = (
            f"r={self._nonce},s={base64.b64encode(salt).decode('ascii')},i={iterations}"
        )
        self._state = ExchangeState.WANT_FINAL
        return Challenge(self._server_first.encode("ascii"))

    # --- messages ----------------------------------------------------------------
    def _client_first(self, message: bytes) -> Step:
        text = decode_text(message, "client-first-message")
        if isinstance(text, Failure):
            return self._end(text)
        parts = text.split(",", 2)
        if len(parts) != 3:
            return self._fail("client-first-message lacks a gs2 header")
        flag, authz, bare = parts
        if flag.startswith("p="):
            return self._fail(
                "channel binding is not supported: use SCRAM-SHA-256 with gs2 flag 'n'"
            )
        if flag not in ("n", "y"):
            return self._fail("gs2 channel-binding flag must be 'n' or 'y'")
        authzid = self._parse_authzid(authz)
        if authzid is None:
            return self._fail("malformed authzid in gs2 header")
        failure = self._parse_bare(bare)
        if failure is not None:
            return self._end(failure)
        refused = check_authzid(authzid, self._authcid, self.allow_impersonation)
        if refused is not None:
            return self._end(refused)
        self._authzid = authzid
        self._gs2_header = f"{flag},{authz},"
        self._client_first_bare = bare
        self._state = ExchangeState.WANT_CREDENTIAL
        return NeedCredential(self._authcid, authzid, None)

    @staticmethod
    def _parse_authzid(authz: str) -> str | None:
        if authz == "":
            return ""
        if not authz.startswith("a="):
            return None
        name = decode_saslname(authz[2:])
        return name or None

    def _parse_bare(self, bare: str) -> Failure | None:
        attributes = bare.split(",")
        if attributes[0].startswith("m="):
            return Failure("mandatory SCRAM extensions are not supported")
        if len(attributes) < 2:
            return Failure("client-first-message needs n= and r=")
        user, nonce = attributes[0], attributes[1]
        if not user.startswith("n=") or not nonce.startswith("r="):
            return Failure("client-first-message needs n= then r=")
        authcid = decode_saslname(user[2:])
        if not authcid:
            return Failure("malformed or empty user name")
        if not _is_printable_nonce(nonce[2:]):
            return Failure("malformed client nonce")
        self._authcid = authcid
        self._nonce = nonce[2:]
        return None

    def _client_final(self, message: bytes) -> Step:
        if len(message) > MAX_MESSAGE_BYTES:
            return self._fail("client-final-message is too long")
        text = decode_text(message, "client-final-message")
        if isinstance(text, Failure):
            return self._end(text)
        head, sep, proof_b64 = text.rpartition(",p=")
        attributes = head.split(",")
        if not sep or len(attributes) < 2:
            return self._fail("client-final-message needs c=, r= and p=")
        binding, nonce = attributes[0], attributes[1]
        if not binding.startswith("c=") or not nonce.startswith("r="):
            return self._fail("client-final-message needs c= then r=")
        # No channel binding: c= carries just the gs2 header of the first message.
        binding_data = _b64decode(binding[2:])
        if binding_data is None or not hmac.compare_digest(
            binding_data, self._gs2_header.encode("utf-8")
        ):
            return self._fail("channel binding data does not match the gs2 header")
        if nonce[2:] != self._nonce:
            return self._fail("nonce does not match")
        proof = _b64decode(proof_b64)
        if proof is None or len(proof) != DIGEST_BYTES:
            return self._fail("malformed client proof")
        auth_message = ",".join((self._client_first_bare, self._server_first, head))
        return self._verify(auth_message.encode("utf-8"), proof)

    def _verify(self, auth_message: bytes, proof: bytes) -> Step:
        credential = self._credential
        if credential is None or not verify_proof(credential, auth_message, proof):
            return self._fail(INVALID_CREDENTIALS)
        verifier = base64.b64encode(server_signature(credential, auth_message))
        return self._end(Success(self._authcid, self._authzid, b"v=" + verifier))

    # --- helpers -----------------------------------------------------------------
    def _salt_and_iterations(self) -> tuple[bytes, int]:
        if self._credential is not None:
            return self._credential.salt, self._credential.iterations
        # RFC 5802 §5.1: for an unknown user, answer as if it existed.
        fake = hmac_sha256(self._mock_key, self._authcid.casefold().encode("utf-8"))
        return fake[:SALT_BYTES], self._mock_iterations

    def _end(self, step: Success | Failure) -> Success | Failure:
        self._state = ExchangeState.DONE
        return step

    def _fail(self, reason: str) -> Failure:
        self._state = ExchangeState.DONE
        return Failure(reason)
