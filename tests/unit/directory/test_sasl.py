"""PLAIN (RFC 4616), LOGIN and SCRAM-SHA-256 (RFC 7677) server mechanisms, pure."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.directory.sasl import (
    Challenge,
    Failure,
    LoginMechanism,
    Mechanism,
    NeedCredential,
    PasswordVerdict,
    PlainMechanism,
    Step,
    Success,
    create_mechanism,
)
from tidings.directory.sasl_scram import ScramSHA256Mechanism
from tidings.directory.scram import derive_credential

from .scram_client import client_final


# --- PLAIN -------------------------------------------------------------------------------
def test_plain_initial_response_asks_for_the_password_check() -> None:
    mechanism = PlainMechanism()
    step = mechanism.start(b"\x00tim\x00tanstaaftanstaaf")
    assert step == NeedCredential("tim", "", "tanstaaftanstaaf")
    assert mechanism.resume(PasswordVerdict(True)) == Success("tim", "")


def test_plain_without_initial_response_sends_an_empty_challenge() -> None:
    mechanism = PlainMechanism()
    assert mechanism.start(None) == Challenge(b"")
    assert mechanism.step(b"\x00tim\x00secret") == NeedCredential("tim", "", "secret")


def test_plain_wrong_password_fails() -> None:
    mechanism = PlainMechanism()
    mechanism.start(b"\x00tim\x00wrong")
    assert mechanism.resume(PasswordVerdict(False)) == Failure("invalid credentials")


def test_plain_authzid_equal_to_authcid_is_accepted() -> None:
    step = PlainMechanism().start(b"Tim@example.com\x00tim@example.com\x00pw")
    assert step == NeedCredential("tim@example.com", "Tim@example.com", "pw")


def test_plain_other_authzid_fails_without_impersonation() -> None:
    step = PlainMechanism().start(b"boss@example.com\x00tim@example.com\x00pw")
    assert isinstance(step, Failure)
    assert "authorization identity" in step.reason


def test_plain_other_authzid_is_passed_on_when_impersonation_is_allowed() -> None:
    step = PlainMechanism(allow_impersonation=True).start(b"boss\x00admin\x00pw")
    assert step == NeedCredential("admin", "boss", "pw")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", "authzid NUL authcid NUL password"),
        (b"tim\x00secret", "authzid NUL authcid NUL password"),
        (b"\x00tim\x00sec\x00ret", "authzid NUL authcid NUL password"),
        (b"\x00\x00secret", "authcid is empty"),
        (b"\x00tim\x00", "password is empty"),
        (b"\x00t\xffm\x00secret", "authcid is not valid UTF-8"),
        (b"\x00tim\x00sec\x01ret", "password holds a NUL or control character"),
        (b"\x00tim\x00" + b"x" * 5000, "too long"),
    ],
)
def test_plain_malformed_messages_fail_with_a_reason(message: bytes, reason: str) -> None:
    step = PlainMechanism().start(message)
    assert isinstance(step, Failure)
    assert reason in step.reason


def test_plain_step_after_the_end_fails() -> None:
    mechanism = PlainMechanism()
    mechanism.start(b"\x00tim\x00pw")
    mechanism.resume(PasswordVerdict(True))
    assert isinstance(mechanism.step(b"\x00tim\x00pw"), Failure)
    assert isinstance(mechanism.resume(PasswordVerdict(True)), Failure)


def test_plain_resume_before_a_credential_request_fails() -> None:
    assert isinstance(PlainMechanism().resume(PasswordVerdict(True)), Failure)


# --- LOGIN -------------------------------------------------------------------------------
def test_login_asks_username_then_password() -> None:
    mechanism = LoginMechanism()
    assert mechanism.start(None) == Challenge(b"Username:")
    assert mechanism.step(b"tim@example.com") == Challenge(b"Password:")
    assert mechanism.step(b"secret") == NeedCredential("tim@example.com", "", "secret")
    assert mechanism.resume(PasswordVerdict(True)) == Success("tim@example.com", "")


def test_login_accepts_the_username_as_initial_response() -> None:
    mechanism = LoginMechanism()
    assert mechanism.start(b"tim") == Challenge(b"Password:")
    assert mechanism.step(b"secret") == NeedCredential("tim", "", "secret")


def test_login_wrong_password_fails() -> None:
    mechanism = LoginMechanism()
    mechanism.start(b"tim")
    mechanism.step(b"wrong")
    assert mechanism.resume(PasswordVerdict(False)) == Failure("invalid credentials")


@pytest.mark.parametrize(
    ("username", "password"),
    [(b"", b"secret"), (b"tim", b""), (b"t\x00im", b"pw"), (b"tim", b"\xc3"), (b"\xff", b"pw")],
)
def test_login_empty_or_malformed_fields_fail(username: bytes, password: bytes) -> None:
    mechanism = LoginMechanism()
    mechanism.start(None)
    step = mechanism.step(username)
    if isinstance(step, Challenge):
        step = mechanism.step(password)
    assert isinstance(step, Failure)


def test_login_ignores_nothing_after_the_end() -> None:
    mechanism = LoginMechanism()
    mechanism.start(b"tim")
    mechanism.step(b"pw")
    mechanism.resume(PasswordVerdict(False))
    assert isinstance(mechanism.step(b"again"), Failure)


# --- SCRAM-SHA-256 -----------------------------------------------------------------------
CREDENTIAL = derive_credential("correct horse", iterations=4096)


def run_scram(first: bytes, password: str, *, gs2_header: bytes = b"n,,") -> Step:
    mechanism = ScramSHA256Mechanism()
    need = mechanism.start(first)
    assert isinstance(need, NeedCredential)
    server_first = mechanism.resume(CREDENTIAL)
    assert isinstance(server_first, Challenge)
    return mechanism.step(client_final(password, first, server_first.data, gs2_header=gs2_header))


def test_scram_with_the_right_password_succeeds_and_proves_the_server() -> None:
    step = run_scram(b"n,,n=tim,r=abcdef", "correct horse")
    assert isinstance(step, Success)
    assert step.authcid == "tim"
    assert step.server_final is not None and step.server_final.startswith(b"v=")


def test_scram_with_a_wrong_password_fails() -> None:
    assert run_scram(b"n,,n=tim,r=abcdef", "wrong horse") == Failure("invalid credentials")


def test_scram_accepts_gs2_flag_y() -> None:
    step = run_scram(b"y,,n=tim,r=abcdef", "correct horse", gs2_header=b"y,,")
    assert isinstance(step, Success)


def test_scram_refuses_channel_binding_with_a_clear_reason() -> None:
    step = ScramSHA256Mechanism().start(b"p=tls-exporter,,n=tim,r=abcdef")
    assert isinstance(step, Failure)
    assert "channel binding is not supported" in step.reason


def test_scram_decodes_escaped_names_and_authzid() -> None:
    mechanism = ScramSHA256Mechanism(allow_impersonation=True)
    step = mechanism.start(b"n,a=b=3Dss=2Cx,n=a=2Cb=3Dc,r=abc")
    assert step == NeedCredential("a,b=c", "b=ss,x", None)


def test_scram_other_authzid_fails_without_impersonation() -> None:
    assert isinstance(ScramSHA256Mechanism().start(b"n,a=boss,n=tim,r=abc"), Failure)


@pytest.mark.parametrize(
    "first",
    [
        b"",
        b"n",
        b"n,,",
        b"x,,n=tim,r=abc",
        b"n,,m=ext,n=tim,r=abc",
        b"n,,n=tim",
        b"n,,r=abc,n=tim",
        b"n,,n=,r=abc",
        b"n,,n=t=41m,r=abc",
        b"n,,n=tim,r=",
        b"n,,n=tim,r=a\x00b",
        b"n,b=x,n=tim,r=abc",
        b"n,a=,n=tim,r=abc",
    ],
)
def test_scram_malformed_client_first_fails(first: bytes) -> None:
    assert isinstance(ScramSHA256Mechanism().start(first), Failure)


def scram_at_final(first: bytes = b"n,,n=tim,r=abc") -> tuple[ScramSHA256Mechanism, bytes]:
    mechanism = ScramSHA256Mechanism(nonce_factory=lambda: "SERVER")
    mechanism.start(first)
    server_first = mechanism.resume(CREDENTIAL)
    assert isinstance(server_first, Challenge)
    return mechanism, client_final("correct horse", first, server_first.data)


def test_scram_final_with_another_nonce_fails() -> None:
    mechanism, final = scram_at_final()
    step = mechanism.step(final.replace(b"r=abcSERVER", b"r=abcSERVEX"))
    assert step == Failure("nonce does not match")


def test_scram_final_with_other_channel_binding_data_fails() -> None:
    mechanism, final = scram_at_final()
    forged = final.replace(b"c=" + base64.b64encode(b"n,,"), b"c=" + base64.b64encode(b"y,,"))
    step = mechanism.step(forged)
    assert isinstance(step, Failure)
    assert "channel binding" in step.reason


@pytest.mark.parametrize(
    "final", [b"", b"c=biws", b"c=biws,r=abcSERVER", b"c=biws,r=abcSERVER,p=!!!", b"p=abc"]
)
def test_scram_malformed_client_final_fails(final: bytes) -> None:
    mechanism, _ = scram_at_final()
    assert isinstance(mechanism.step(final), Failure)


def test_scram_unknown_user_gets_a_stable_fake_salt_and_fails() -> None:
    salts = []
    server_firsts = []
    for _ in range(2):
        mechanism = ScramSHA256Mechanism(mock_key=b"k" * 32, mock_iterations=4096)
        mechanism.start(b"n,,n=ghost,r=abc")
        server_first = mechanism.resume(None)
        assert isinstance(server_first, Challenge)
        salts.append(server_first.data.split(b",")[1])
        server_firsts.append(server_first.data)
        final = client_final("anything", b"n,,n=ghost,r=abc", server_first.data)
        assert mechanism.step(final) == Failure("invalid credentials")
    assert salts[0] == salts[1]
    assert all(data.endswith(b",i=4096") for data in server_firsts)


def test_scram_resume_with_a_password_verdict_fails() -> None:
    mechanism = ScramSHA256Mechanism()
    mechanism.start(b"n,,n=tim,r=abc")
    assert isinstance(mechanism.resume(PasswordVerdict(True)), Failure)


# --- registry ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kind"),
    [("plain", PlainMechanism), ("LOGIN", LoginMechanism), ("scram-sha-256", ScramSHA256Mechanism)],
)
def test_create_mechanism_knows_the_supported_names(name: str, kind: type) -> None:
    assert isinstance(create_mechanism(name), kind)


def test_create_mechanism_refuses_unknown_names() -> None:
    assert create_mechanism("CRAM-MD5") is None
    assert create_mechanism("SCRAM-SHA-256-PLUS") is None


# --- properties: arbitrary bytes never raise ---------------------------------------------
MECHANISM_NAMES = ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
STEP_TYPES = (Challenge, NeedCredential, Success, Failure)


def feed(mechanism: Mechanism, initial: bytes | None, messages: list[bytes], ok: bool) -> None:
    step = mechanism.start(initial)
    assert isinstance(step, STEP_TYPES)
    for message in messages:
        if isinstance(step, NeedCredential):
            answer = (
                PasswordVerdict(ok) if step.password is not None else (CREDENTIAL if ok else None)
            )
            step = mechanism.resume(answer)
        else:
            step = mechanism.step(message)
        assert isinstance(step, STEP_TYPES)


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(MECHANISM_NAMES),
    initial=st.none() | st.binary(max_size=300),
    messages=st.lists(st.binary(max_size=300), max_size=5),
    ok=st.booleans(),
)
def test_arbitrary_bytes_never_raise(
    name: str, initial: bytes | None, messages: list[bytes], ok: bool
) -> None:
    mechanism = create_mechanism(name, scram_iterations=4096)
    assert mechanism is not None
    feed(mechanism, initial, messages, ok)


SCRAM_ALPHABET = st.sampled_from(
    [
        b"n",
        b"y",
        b"p",
        b",",
        b"=",
        b"a",
        b"r",
        b"c",
        b"s",
        b"2C",
        b"3D",
        b"biws",
        b"m",
        b"\x00",
        b"\xff",
        b"x",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    first=st.lists(SCRAM_ALPHABET, max_size=30).map(b"".join),
    final=st.lists(SCRAM_ALPHABET, max_size=30).map(b"".join),
)
def test_scram_shaped_garbage_never_raises(first: bytes, final: bytes) -> None:
    feed(ScramSHA256Mechanism(), first, [b"", final, final], True)


@settings(max_examples=200, deadline=None)
@given(
    authzid=st.text(max_size=20),
    authcid=st.text(max_size=20),
    password=st.text(max_size=20),
)
def test_plain_well_formed_text_gives_a_credential_request_or_failure(
    authzid: str, authcid: str, password: str
) -> None:
    message = "\x00".join((authzid, authcid, password)).encode("utf-8", "surrogatepass")
    step = PlainMechanism(allow_impersonation=True).start(message)
    if isinstance(step, NeedCredential):
        assert (step.authzid, step.authcid, step.password) == (authzid, authcid, password)
    else:
        assert isinstance(step, Failure)


@settings(max_examples=300, deadline=None)
@given(final=st.binary(max_size=400), known=st.booleans())
def test_arbitrary_client_final_after_a_valid_first_never_raises(final: bytes, known: bool) -> None:
    mechanism = ScramSHA256Mechanism(mock_iterations=4096)
    mechanism.start(b"n,,n=tim,r=abc")
    assert isinstance(mechanism.resume(CREDENTIAL if known else None), Challenge)
    assert isinstance(mechanism.step(final), Failure)
