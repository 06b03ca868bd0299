"""Sans-I/O SASL server mechanisms: PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256 (RFC 7677).

How a protocol drives a mechanism (IMAP, SMTP, POP3 and ManageSieve alike):

- The protocol owns the framing. It base64-decodes what the client sends and
  base64-encodes each `Challenge` (IMAP "+ ", SMTP "334 ", POP3 "+ ",
  ManageSieve string). Bytes given to `start`/`step` are already decoded;
  undecodable base64 is the protocol's own syntax error.
- A client's "*" line cancels the exchange (RFC 9051 §6.2.2, RFC 4954 §4,
  RFC 5034 §4, RFC 5804 §2.1). The protocol detects it before decoding, drops the
  mechanism object and replies with its own "cancelled" error; the mechanism
  never sees it.
- `start(initial_response)` begins: None when the client sent no initial response
  (an empty challenge follows for PLAIN and SCRAM), b"" for an explicitly empty one.
- `NeedCredential` pauses the mechanism for the command layer: with a password
  (PLAIN, LOGIN) it verifies the password and calls `resume(PasswordVerdict(ok))`;
  without one (SCRAM) it looks up the stored SCRAM credential and calls
  `resume(credential)`, or `resume(None)` for an unknown or disabled user (the
  mechanism then plays on with a fake salt and fails at the end, so probing does
  not reveal which accounts exist). `tidings.directory.auth.SASLExchange` does
  this for you.
- `Success.server_final` is data the client must still receive (SCRAM's "v=").
  IMAP, SMTP and POP3 send it as one more challenge and wait for an empty
  response before the final OK; ManageSieve puts it in the OK's SASL response code.
- Peer input never raises: anything malformed ends in `Failure(reason)`, and
  every call after the end returns a `Failure` too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from tidings.directory.scram import DEFAULT_ITERATIONS, ScramCredential

MAX_MESSAGE_BYTES = 4096  # far above any honest PLAIN, LOGIN or SCRAM message
MAX_FIELD_CHARS = 1024


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send `data` to the client (the protocol base64-encodes it) and await a response."""

    data: bytes


@dataclass(frozen=True, slots=True)
class NeedCredential:
    """The command layer must check `password`, or fetch the SCRAM credential if None."""

    authcid: str
    authzid: str = ""
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Success:
    """Authenticated as `authcid`, acting as `authzid` ("" means as itself)."""

    authcid: str
    authzid: str = ""
    server_final: bytes | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """The exchange is over and failed; `reason` is for logs, not necessarily the peer."""

    reason: str


Step = Challenge | NeedCredential | Success | Failure


@dataclass(frozen=True, slots=True)
class PasswordVerdict:
    """The command layer's answer to a `NeedCredential` that carried a password."""

    ok: bool


CredentialAnswer = PasswordVerdict | ScramCredential | None

INVALID_CREDENTIALS = "invalid credentials"


class Mechanism(Protocol):
    """One SASL exchange on the server side; create a new object per exchange."""

    name: ClassVar[str]

    def start(self, initial_response: bytes | None) -> Step: ...

    def step(self, response: bytes) -> Step: ...

    def resume(self, answer: CredentialAnswer) -> Step: ...


class ExchangeState(enum.Enum):
    """Where a mechanism is in its exchange (shared by every mechanism class)."""

    NEW = "new"
    WANT_RESPONSE = "want_response"
    WANT_USERNAME = "want_username"
    WANT_PASSWORD = "want_password"
    WANT_CREDENTIAL = "want_credential"
    WANT_FINAL = "want_final"
    DONE = "done"


def decode_text(data: bytes, what: str, *, allow_empty: bool = False) -> str | Failure:
    """Strict UTF-8 without NUL or control characters, within the size limit."""
    if len(data) > MAX_MESSAGE_BYTES:
        return Failure(f"{what} is too long")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Failure(f"{what} is not valid UTF-8")
    if not text and not allow_empty:
        return Failure(f"{what} is empty")
    if len(text) > MAX_FIELD_CHARS:
        return Failure(f"{what} is too long")
    if any(ch < " " or ch == "\x7f" for ch in text):
        return Failure(f"{what} holds a NUL or control character")
    return text


def _same_identity(authzid: str, authcid: str) -> bool:
    return authzid.casefold() == authcid.casefold()


def check_authzid(authzid: str, authcid: str, allow_impersonation: bool) -> Failure | None:
    """RFC 4616 §2: an authzid other than the authcid needs impersonation rights."""
    if authzid and not _same_identity(authzid, authcid) and not allow_impersonation:
        return Failure("authorization identity differs from authentication identity")
    return None


class _Finishing:
    """Shared state handling: terminal steps, and `resume` for password mechanisms."""

    _state: ExchangeState
    _pending: NeedCredential | None

    def _end(self, step: Success | Failure) -> Success | Failure:
        self._state = ExchangeState.DONE
        return step

    def _fail(self, reason: str) -> Failure:
        self._state = ExchangeState.DONE
        return Failure(reason)

    def _ask_password(self, authcid: str, authzid: str, password: str) -> NeedCredential:
        self._state = ExchangeState.WANT_CREDENTIAL
        self._pending = NeedCredential(authcid, authzid, password)
        return self._pending

    def resume(self, answer: CredentialAnswer) -> Step:
        """Finish after the command layer checked the password."""
        pending = self._pending
        if self._state is not ExchangeState.WANT_CREDENTIAL or pending is None:
            return self._fail("no credential was requested")
        if not isinstance(answer, PasswordVerdict):
            return self._fail("this mechanism needs a password verdict")
        if not answer.ok:
            return self._fail(INVALID_CREDENTIALS)
        return self._end(Success(pending.authcid, pending.authzid))


class PlainMechanism(_Finishing):
    """PLAIN (RFC 4616): one message, ``[authzid] NUL authcid NUL passwd``."""

    name: ClassVar[str] = "PLAIN"

    def __init__(self, *, allow_impersonation: bool = False) -> None:
        self.allow_impersonation = allow_impersonation
        self._state = ExchangeState.NEW
        self._pending = None

    def start(self, initial_response: bytes | None) -> Step:
        if self._state is not ExchangeState.NEW:
            return self._fail("exchange already started")
        if initial_response is None:
            self._state = ExchangeState.WANT_RESPONSE
            return Challenge(b"")
        return self._parse(initial_response)

    def step(self, response: bytes) -> Step:
        if self._state is not ExchangeState.WANT_RESPONSE:
            return self._fail("unexpected response")
        return self._parse(response)

    def _parse(self, message: bytes) -> Step:
        if len(message) > MAX_MESSAGE_BYTES:
            return self._fail("PLAIN message is too long")
        parts = message.split(b"\x00")
        if len(parts) != 3:
            return self._fail("PLAIN message must be authzid NUL authcid NUL password")
        fields: list[str] = []
        for raw, what, allow_empty in zip(
            parts, ("authzid", "authcid", "password"), (True, False, False), strict=True
        ):
            text = decode_text(raw, what, allow_empty=allow_empty)
            if isinstance(text, Failure):
                return self._end(text)
            fields.append(text)
        authzid, authcid, password = fields
        refused = check_authzid(authzid, authcid, self.allow_impersonation)
        if refused is not None:
            return self._end(refused)
        return self._ask_password(authcid, authzid, password)


class LoginMechanism(_Finishing):
    """LOGIN (draft-murchison-sasl-login): "Username:" then "Password:" challenges."""

    name: ClassVar[str] = "LOGIN"
    USERNAME_CHALLENGE: ClassVar[bytes] = b"Username:"
    PASSWORD_CHALLENGE: ClassVar[bytes] = b"Password:"

    def __init__(self) -> None:
        self._state = ExchangeState.NEW
        self._pending = None
        self._username = ""

    def start(self, initial_response: bytes | None) -> Step:
        if self._state is not ExchangeState.NEW:
            return self._fail("exchange already started")
        if initial_response is None:
            self._state = ExchangeState.WANT_USERNAME
            return Challenge(self.USERNAME_CHALLENGE)
        # Some clients (e.g. "AUTH LOGIN dXNlcg==") send the user name up front.
        return self._take_username(initial_response)

    def step(self, response: bytes) -> Step:
        if self._state is ExchangeState.WANT_USERNAME:
            return self._take_username(response)
        if self._state is ExchangeState.WANT_PASSWORD:
            password = decode_text(response, "password")
            if isinstance(password, Failure):
                return self._end(password)
            return self._ask_password(self._username, "", password)
        return self._fail("unexpected response")

    def _take_username(self, response: bytes) -> Step:
        username = decode_text(response, "user name")
        if isinstance(username, Failure):
            return self._end(username)
        self._username = username
        self._state = ExchangeState.WANT_PASSWORD
        return Challenge(self.PASSWORD_CHALLENGE)


def _scram_factory(
    allow_impersonation: bool, iterations: int, nonce_factory: Callable[[], str] | None
) -> Mechanism:
    # Imported here: the SCRAM mechanism module imports this one's step types.
    from tidings.directory.sasl_scram import ScramSHA256Mechanism

    return ScramSHA256Mechanism(
        allow_impersonation=allow_impersonation,
        mock_iterations=iterations,
        nonce_factory=nonce_factory,
    )


SUPPORTED_MECHANISMS: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
# Mechanisms that send the password itself: offer them only on TLS connections.
PLAINTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN"})


def create_mechanism(
    name: str,
    *,
    allow_impersonation: bool = False,
    scram_iterations: int = DEFAULT_ITERATIONS,
    nonce_factory: Callable[[], str] | None = None,
) -> Mechanism | None:
    """A fresh mechanism for `name` (case-insensitive), or None if unsupported.

    `scram_iterations` is the count the SCRAM mechanism shows for unknown users;
    keep it equal to the one `set_password` stores, or probing tells them apart.
    LOGIN carries no authzid, so `allow_impersonation` does not apply to it.
    """
    match name.upper():
        case "PLAIN":
            return PlainMechanism(allow_impersonation=allow_impersonation)
        case "LOGIN":
            return LoginMechanism()
        case "SCRAM-SHA-256":
            return _scram_factory(allow_impersonation, scram_iterations, nonce_factory)
        case _:
            return None
