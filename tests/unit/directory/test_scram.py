"""SCRAM-SHA-256 credentials and the server mechanism against RFC 7677 §3's example."""

from __future__ import annotations

import base64

import pytest

from tidings.directory.sasl import Challenge, Failure, NeedCredential, Success
from tidings.directory.sasl_scram import ScramSHA256Mechanism
from tidings.directory.scram import (
    MIN_ITERATIONS,
    ScramCredential,
    client_proof,
    derive_credential,
    salted_password,
    verify_proof,
)

# RFC 7677 §3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def rfc_credential() -> ScramCredential:
    return derive_credential("pencil", iterations=4096, salt=RFC_SALT)


def test_rfc7677_exchange_succeeds_with_the_rfc_server_final() -> None:
    mechanism = ScramSHA256Mechanism(nonce_factory=lambda: RFC_SERVER_NONCE)
    assert mechanism.start(RFC_CLIENT_FIRST) == NeedCredential("user", "", None)
    assert mechanism.resume(rfc_credential()) == Challenge(RFC_SERVER_FIRST)
    assert mechanism.step(RFC_CLIENT_FINAL) == Success("user", "", RFC_SERVER_FINAL)


def test_rfc7677_exchange_without_initial_response_starts_with_empty_challenge() -> None:
    mechanism = ScramSHA256Mechanism(nonce_factory=lambda: RFC_SERVER_NONCE)
    assert mechanism.start(None) == Challenge(b"")
    assert isinstance(mechanism.step(RFC_CLIENT_FIRST), NeedCredential)
    assert mechanism.resume(rfc_credential()) == Challenge(RFC_SERVER_FIRST)
    assert mechanism.step(RFC_CLIENT_FINAL) == Success("user", "", RFC_SERVER_FINAL)


def test_rfc7677_exchange_with_wrong_password_fails() -> None:
    mechanism = ScramSHA256Mechanism(nonce_factory=lambda: RFC_SERVER_NONCE)
    mechanism.start(RFC_CLIENT_FIRST)
    mechanism.resume(derive_credential("pen", iterations=4096, salt=RFC_SALT))
    assert mechanism.step(RFC_CLIENT_FINAL) == Failure("invalid credentials")


def test_credential_round_trips_through_its_stored_form() -> None:
    credential = derive_credential("pencil", iterations=4096)
    text = credential.serialize()
    assert text.startswith("4096$")
    assert text.count("$") == 3
    assert ScramCredential.parse(text) == credential


def test_stored_form_of_the_rfc_credential_has_the_rfc_salt() -> None:
    assert rfc_credential().serialize().split("$")[:2] == ["4096", "W22ZaJ0SNY7soEsUEjb6gQ=="]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4096$a$b",
        "abc$W22ZaJ0SNY7soEsUEjb6gQ==$AAAA$AAAA",
        "100$W22ZaJ0SNY7soEsUEjb6gQ==$" + "A" * 44 + "$" + "A" * 44,
        "4096$!!!$" + "A" * 43 + "=$" + "A" * 43 + "=",
        "4096$W22ZaJ0SNY7soEsUEjb6gQ==$AAAA$AAAA",
        "٤٠٩٦$W22ZaJ0SNY7soEsUEjb6gQ==$" + "A" * 43 + "=$" + "A" * 43 + "=",
    ],
)
def test_malformed_stored_credentials_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ScramCredential.parse(text)


def test_fewer_than_4096_iterations_are_refused() -> None:
    with pytest.raises(ValueError, match="4096"):
        derive_credential("pencil", iterations=MIN_ITERATIONS - 1)


def test_each_derivation_gets_a_fresh_salt() -> None:
    first = derive_credential("x", iterations=4096)
    second = derive_credential("x", iterations=4096)
    assert first.salt != second.salt
    assert first.stored_key != second.stored_key


def test_client_proof_verifies_only_for_its_auth_message() -> None:
    credential = rfc_credential()
    salted = salted_password("pencil", RFC_SALT, 4096)
    proof = client_proof(salted, b"auth message")
    assert verify_proof(credential, b"auth message", proof)
    assert not verify_proof(credential, b"other message", proof)
    assert not verify_proof(credential, b"auth message", proof[:-1])


def test_password_is_saslprepped_before_derivation() -> None:
    # RFC 4013 §3: U+00AD (soft hyphen) maps to nothing, so both derive the same keys.
    assert salted_password("pen\u00adcil", RFC_SALT, 4096) == salted_password(
        "pencil", RFC_SALT, 4096
    )
