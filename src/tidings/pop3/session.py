"""The POP3 session state machine (RFC 1939 §3-§6, RFC 2449, RFC 2595 STLS, RFC 5034
AUTH): pure code; bytes in, replies and typed requests for the command layer out."""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass

from tidings.pop3 import parser as p
from tidings.pop3.events import (
    Challenge,
    Content,
    Fetch,
    Login,
    MaildropEntry,
    Opened,
    Outcome,
    Refused,
    Request,
    SASLCancel,
    SASLResponse,
    SASLStart,
    StartTLS,
    Update,
    Updated,
)
from tidings.pop3.responses import (
    Continuation,
    Reply,
    ResponseCode,
    err,
    multiline,
    ok,
    top_of,
)


class State(enum.Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class SessionOptions:
    tls_available: bool = True  # a certificate is configured, so STLS may be offered
    is_tls: bool = False  # implicit TLS (pop3s)
    allow_plaintext: bool = False  # USER/PASS and PLAIN before TLS (loopback + config)
    mechanisms: tuple[str, ...] = ("PLAIN", "SCRAM-SHA-256")
    implementation: str = "Tidings"
    max_bad_commands: int = 10
    max_auth_failures: int = 3


Step = Request | Reply | Continuation | StartTLS | p.NeedData

# Mechanisms that carry the password itself (RFC 4616 §6 asks for TLS).
_PASSWORD_MECHANISMS = frozenset({"PLAIN", "LOGIN"})


class POP3Session:
    """One POP3 conversation, from greeting to QUIT or disconnect."""

    def __init__(self, options: SessionOptions | None = None) -> None:
        self.options = options or SessionOptions()
        self.state = State.AUTHORIZATION
        self.is_tls = self.options.is_tls
        self.closed = False
        self.user: str | None = None
        self._reader = p.LineReader(p.MAX_COMMAND_BYTES)
        self._eof = False
        self._in_sasl = False
        self._pending_user: str | None = None
        self._entries: tuple[MaildropEntry, ...] = ()
        self._deleted: set[int] = set()
        self._retrieved: set[int] = set()
        self._bad_commands = 0
        self._auth_failures = 0

    # --- input -----------------------------------------------------------------------
    def greeting(self) -> Reply:
        # No <timestamp> in the greeting: APOP is not offered (RFC 1939 §7).
        return ok(f"{self.options.implementation} POP3 server ready")

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; b"" means the peer closed."""
        if data:
            self._reader.feed(data)
        else:
            self._eof = True

    def tls_started(self) -> None:
        self.is_tls = True

    @property
    def plaintext_ok(self) -> bool:
        return self.is_tls or self.options.allow_plaintext

    @property
    def offered_mechanisms(self) -> tuple[str, ...]:
        return tuple(
            m for m in self.options.mechanisms if self.plaintext_ok or m not in _PASSWORD_MECHANISMS
        )

    # --- stepping --------------------------------------------------------------------
    def next_step(self) -> Step:
        """A request to run, a reply decided here, or NEED_DATA for more bytes."""
        if self.closed:
            return p.NEED_DATA
        self._reader.limit = p.MAX_SASL_RESPONSE_BYTES if self._in_sasl else p.MAX_COMMAND_BYTES
        line = self._reader.next_line()
        if isinstance(line, p.NeedData):
            if self._eof:
                # RFC 1939 §6: without QUIT there is no UPDATE; nothing is deleted.
                self.closed = True
            return p.NEED_DATA
        if self._in_sasl:
            return self._sasl_line(line)
        if isinstance(line, p.LineTooLong):
            return self._bad(f"line too long (limit {line.limit} octets)")
        command = p.parse_command(line)
        if isinstance(command, p.Malformed):
            return self._bad(command.reason)
        if self.state is State.AUTHORIZATION:
            return self._authorization(command)
        return self._transaction(command)

    def complete(self, request: Request, outcome: Outcome) -> Reply | Continuation:
        """Apply the command layer's outcome to the state; return the reply."""
        if isinstance(outcome, Refused):
            return self._refused(request, outcome)
        match request:
            case Login() | SASLStart() | SASLResponse() | SASLCancel():
                return self._authenticated(outcome)
            case Fetch():
                return self._fetched(request, outcome)
            case Update():
                self.closed = True
                self.state = State.UPDATE
                removed = outcome.removed if isinstance(outcome, Updated) else 0
                return ok(f"bye ({removed} messages deleted)", closes=True)

    # --- helpers ---------------------------------------------------------------------
    def _reply(self, reply: Reply) -> Reply:
        if reply.closes:
            self.closed = True
        return reply

    def _bad(self, reason: str) -> Reply:
        self._bad_commands += 1
        if self._bad_commands >= self.options.max_bad_commands:
            return self._reply(err(f"{reason}; too many bad commands, closing", closes=True))
        return err(reason)

    def _sasl_line(self, line: bytes | p.LineTooLong) -> Request:
        self._in_sasl = False
        if isinstance(line, p.LineTooLong):
            return SASLCancel("response too long")
        if line == b"*":
            return SASLCancel("authentication cancelled")
        data = _b64decode(line)
        if data is None:
            return SASLCancel("response is not valid base64")
        return SASLResponse(data)

    def _authorization(self, command: p.Command) -> Step:
        pending_user, self._pending_user = self._pending_user, None
        match command:
            case p.Capa():
                return self._capabilities()
            case p.Quit():
                return self._reply(ok("bye", closes=True))
            case p.User(name=name):
                if not self.plaintext_ok:
                    return err("plaintext login needs TLS first: use STLS")
                self._pending_user = name
                return ok("send PASS")
            case p.Pass(password=password):
                if pending_user is None:
                    return self._bad("send USER first")
                return Login(pending_user, password)
            case p.Apop():
                return err("APOP is not offered; use USER/PASS or AUTH")
            case p.Auth(mechanism=None):
                return multiline("SASL mechanisms follow", self.offered_mechanisms)
            case p.Auth(mechanism=str(mechanism), initial_response=initial):
                return self._start_sasl(mechanism, initial)
            case p.Stls():
                return self._stls()
            case _:
                return self._bad("command not valid before login")

    def _start_sasl(self, mechanism: str, initial: str | None) -> Step:
        if mechanism not in self.offered_mechanisms:
            if mechanism in _PASSWORD_MECHANISMS and mechanism in self.options.mechanisms:
                return err(f"{mechanism} needs TLS first: use STLS")
            return err("unsupported SASL mechanism")
        if initial is None:
            return SASLStart(mechanism, None)
        # RFC 5034 §4: "=" is an initial response of zero length.
        data = b"" if initial == "=" else _b64decode(initial.encode("ascii", "replace"))
        if data is None:
            return err("initial response is not valid base64")
        return SASLStart(mechanism, data)

    def _stls(self) -> Step:
        if self.is_tls:
            return self._bad("TLS is already active")
        if not self.options.tls_available:
            return err("STLS is not available")
        # RFC 2595 §4 / CVE-2011-0411: bytes pipelined after STLS are not trusted.
        self._reader.discard()
        return StartTLS(ok("begin TLS negotiation"))

    def _capabilities(self) -> Reply:
        """RFC 2449 §5; the list depends on the state and on TLS (RFC 2595 §4)."""
        caps = ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "EXPIRE NEVER"]
        if self.state is State.AUTHORIZATION:
            caps.append("AUTH-RESP-CODE")
            if self.plaintext_ok:
                caps.append("USER")
            if self.offered_mechanisms:
                caps.append("SASL " + " ".join(self.offered_mechanisms))
            if self.options.tls_available and not self.is_tls:
                caps.append("STLS")
        caps.append(f"IMPLEMENTATION {self.options.implementation}")
        return multiline("capability list follows", caps)

    def _transaction(self, command: p.Command) -> Step:
        match command:
            case p.Capa():
                return self._capabilities()
            case p.Stat():
                count, size = self._totals()
                return ok(f"{count} {size}")
            case p.ListCommand(number=None):
                count, size = self._totals()
                lines = [f"{n} {e.size}" for n, e in self._live()]
                return multiline(f"{count} messages ({size} octets)", lines)
            case p.Uidl(number=None):
                return multiline(
                    "unique-id listing follows", [f"{n} {e.unique_id}" for n, e in self._live()]
                )
            case p.ListCommand(number=int(number)) | p.Uidl(number=int(number)):
                entry = self._entry(number)
                if isinstance(entry, Reply):
                    return entry
                value = entry.size if isinstance(command, p.ListCommand) else entry.unique_id
                return ok(f"{number} {value}")
            case p.Retr(number=number) | p.Top(number=number):
                entry = self._entry(number)
                if isinstance(entry, Reply):
                    return entry
                top_lines = command.lines if isinstance(command, p.Top) else None
                return Fetch(number, entry, top_lines)
            case p.Dele(number=number):
                entry = self._entry(number)
                if isinstance(entry, Reply):
                    return entry
                self._deleted.add(number)
                return ok(f"message {number} deleted")
            case p.Noop():
                return ok()
            case p.Rset():
                self._deleted.clear()
                count, size = self._totals()
                return ok(f"maildrop has {count} messages ({size} octets)")
            case p.Quit():
                return Update(
                    tuple(self._entries[n - 1] for n in sorted(self._deleted)),
                    tuple(self._entries[n - 1] for n in sorted(self._retrieved - self._deleted)),
                )
            case _:
                return self._bad("command not valid after login")

    def _live(self) -> list[tuple[int, MaildropEntry]]:
        return [(n, e) for n, e in enumerate(self._entries, 1) if n not in self._deleted]

    def _totals(self) -> tuple[int, int]:
        live = self._live()
        return len(live), sum(e.size for _, e in live)

    def _entry(self, number: int) -> MaildropEntry | Reply:
        if not 1 <= number <= len(self._entries):
            return err(f"no message {number}")
        if number in self._deleted:
            return err(f"message {number} already deleted")
        return self._entries[number - 1]

    def _authenticated(self, outcome: Outcome) -> Reply | Continuation:
        if isinstance(outcome, Challenge):
            self._in_sasl = True
            return Continuation(outcome.data)
        if not isinstance(outcome, Opened):
            return self._reply(err("internal error", ResponseCode.SYS_TEMP, closes=True))
        self.state = State.TRANSACTION
        self.user = outcome.user
        self._entries = outcome.entries
        count, size = self._totals()
        return ok(f"maildrop locked and ready, {count} messages ({size} octets)")

    def _fetched(self, request: Fetch, outcome: Outcome) -> Reply:
        if not isinstance(outcome, Content):
            return err("message could not be read", ResponseCode.SYS_TEMP)
        if request.top_lines is not None:
            body = top_of(outcome.data, request.top_lines)
            return Reply(True, "top of message follows", body=body)
        self._retrieved.add(request.number)
        return Reply(True, f"{request.entry.size} octets", body=outcome.data)

    def _refused(self, request: Request, outcome: Refused) -> Reply:
        if isinstance(request, Login | SASLStart | SASLResponse | SASLCancel):
            if outcome.code is ResponseCode.AUTH or isinstance(request, SASLCancel):
                self._auth_failures += 1
            if self._auth_failures >= self.options.max_auth_failures:
                return self._reply(err(outcome.text, outcome.code, closes=True))
        if isinstance(request, Update):
            self.state = State.UPDATE
            return self._reply(err(outcome.text, outcome.code, closes=True))
        return self._reply(err(outcome.text, outcome.code, closes=outcome.closes))


def _b64decode(data: bytes) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


__all__ = [
    "Challenge",
    "Content",
    "Fetch",
    "Login",
    "MaildropEntry",
    "Opened",
    "Outcome",
    "POP3Session",
    "Refused",
    "Request",
    "SASLCancel",
    "SASLResponse",
    "SASLStart",
    "SessionOptions",
    "StartTLS",
    "State",
    "Step",
    "Update",
    "Updated",
]
