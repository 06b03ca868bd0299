"""The IMAP connection state machine (RFC 9051 §3, IMAP4rev1 compatibility per §1.3).

Pure: bytes in via `receive_data`, and `next_step` hands out bytes to send, a command
for the command layer to run, or NEED_DATA. Commands that need no data are answered
here; everything else is checked against the state first.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from tidings.imap import commands_model as m
from tidings.imap import responses as r
from tidings.imap.mutf7 import decode_name, encode_name
from tidings.imap.parser import NEED_DATA, ContinueRequest, IMAPParser, Limits, Malformed, NeedData
from tidings.imap.view import MailboxView
from tidings.model.directory import Principal

log = logging.getLogger(__name__)


class State(enum.Enum):
    NOT_AUTHENTICATED = "not-authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes the session decided to send by itself."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Settings:
    server_name: str = "Tidings"
    version: str = "0.1"
    plaintext_ok: bool = False  # LOGIN/PLAIN allowed without TLS (loopback, if configured)
    tls_available: bool = True
    max_bad_commands: int = 20
    limits: Limits = field(default_factory=Limits)


_ANY = frozenset(State) - {State.LOGOUT}
_NOT_AUTH = frozenset({State.NOT_AUTHENTICATED})
_AUTH = frozenset({State.AUTHENTICATED, State.SELECTED})
_SELECTED = frozenset({State.SELECTED})
_ALLOWED: dict[type[m.Command], frozenset[State]] = {
    m.Capability: _ANY, m.Noop: _ANY, m.Logout: _ANY, m.Id: _ANY,
    m.StartTLS: _NOT_AUTH, m.Login: _NOT_AUTH, m.Authenticate: _NOT_AUTH,
    m.Enable: frozenset({State.AUTHENTICATED}), m.Compress: _AUTH,
    m.Select: _AUTH, m.Create: _AUTH, m.Delete: _AUTH, m.Rename: _AUTH, m.Subscribe: _AUTH,
    m.List: _AUTH, m.Status: _AUTH, m.Append: _AUTH, m.Idle: _AUTH, m.Namespace: _AUTH,
    m.GetQuota: _AUTH, m.GetQuotaRoot: _AUTH, m.SetQuota: _AUTH, m.SetAcl: _AUTH,
    m.DeleteAcl: _AUTH, m.GetAcl: _AUTH, m.ListRights: _AUTH, m.MyRights: _AUTH,
    m.Check: _SELECTED, m.Close: _SELECTED, m.Unselect: _SELECTED, m.Expunge: _SELECTED,
    m.Fetch: _SELECTED, m.Store: _SELECTED, m.Copy: _SELECTED, m.Search: _SELECTED,
    m.Sort: _SELECTED, m.Thread: _SELECTED,
}  # fmt: skip

ENABLEABLE = frozenset({"IMAP4REV2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT"})
SEARCH_CHARSETS = frozenset({"UTF-8", "US-ASCII"})

_BASE_CAPABILITIES = ("IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE")
_AUTH_CAPABILITIES = (
    "NAMESPACE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "CREATE-SPECIAL-USE",
    "LIST-EXTENDED", "LIST-STATUS", "CHILDREN", "ESEARCH", "SEARCHRES", "SORT", "ESORT",
    "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "QUOTA", "QUOTA=RES-STORAGE", "ACL",
    "RIGHTS=texk", "UNSELECT", "MULTIAPPEND", "BINARY", "UTF8=ACCEPT", "STATUS=SIZE",
    "SAVEDATE", "OBJECTID", "WITHIN",
)  # fmt: skip


class IMAPSession:
    """One connection's protocol state; the command layer reads and updates it."""

    def __init__(
        self, settings: Settings | None = None, *, tls: bool = False, session_id: str = ""
    ) -> None:
        self.settings = settings or Settings()
        self.parser = IMAPParser(self.settings.limits)
        self.state = State.NOT_AUTHENTICATED
        self.tls = tls
        self.session_id = session_id
        self.principal: Principal | None = None
        self.enabled: frozenset[str] = frozenset()
        self.view: MailboxView | None = None
        self.compressed = False
        self.client_id: tuple[tuple[str, str | None], ...] | None = None
        self._bad = 0

    # --- connection facts ------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.state is State.LOGOUT

    @property
    def rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    @property
    def utf8(self) -> bool:
        return "UTF8=ACCEPT" in self.enabled

    @property
    def may_use_plaintext(self) -> bool:
        return self.tls or self.settings.plaintext_ok

    def capabilities(self) -> tuple[str, ...]:
        caps = list(_BASE_CAPABILITIES)
        if self.state is State.NOT_AUTHENTICATED:
            if not self.tls and self.settings.tls_available:
                caps.append("STARTTLS")
            if self.may_use_plaintext:
                caps.append("AUTH=PLAIN")
            else:
                caps.append("LOGINDISABLED")
            caps.append("AUTH=SCRAM-SHA-256")
            return tuple(caps)
        caps += _AUTH_CAPABILITIES
        caps.append(f"APPENDLIMIT={self.settings.limits.max_literal}")
        if not self.compressed:
            caps.append("COMPRESS=DEFLATE")
        return tuple(caps)

    def greeting(self) -> bytes:
        caps = " ".join(self.capabilities())
        return r.Untagged(
            "OK", f"{self.settings.server_name} IMAP4rev2 server ready", r.Code("CAPABILITY", caps)
        ).encode()

    def wire_name(self, name: str) -> str:
        return encode_name(name, self.utf8)

    def mailbox_name(self, wire: str) -> str:
        """A client's mailbox name as Unicode. Raises ValueError (bad modified UTF-7)."""
        return decode_name(wire, self.utf8)

    # --- transitions the command layer makes --------------------------------------
    def login(self, principal: Principal) -> None:
        self.principal = principal
        self.state = State.AUTHENTICATED

    def select(self, view: MailboxView) -> None:
        self.view = view
        self.state = State.SELECTED

    def unselect(self) -> None:
        self.view = None
        self.state = State.AUTHENTICATED

    def logout(self) -> None:
        self.state = State.LOGOUT

    def tls_started(self) -> None:
        self.tls = True

    def compression_started(self) -> None:
        self.compressed = True

    # --- the step loop ---------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        self.parser.receive_data(data)

    def next_step(self) -> m.Command | Reply | NeedData:
        """A reply decided here, a command to run, or NEED_DATA."""
        while True:
            event = self.parser.next_event()
            if event is NEED_DATA:
                return NEED_DATA
            if isinstance(event, ContinueRequest):
                return Reply(r.Continuation(event.text).encode())
            if isinstance(event, Malformed):
                return self._malformed(event)
            if isinstance(event, m.IdleDone | m.SASLResponse):
                return Reply(r.Untagged("BAD", "Unexpected continuation line").encode())
            assert isinstance(event, m.Command)
            return self._dispatch(event)

    def _malformed(self, event: Malformed) -> Reply:
        self._bad += 1
        log.debug("imap.malformed session=%s reason=%s", self.session_id, event.reason)
        code = r.Code(event.code) if event.code else None
        if event.tag is None:
            data = r.Untagged("BAD", event.reason, code).encode()
        else:
            data = r.Tagged(event.tag, "BAD", event.reason, code).encode()
        if self._bad >= self.settings.max_bad_commands:
            self.state = State.LOGOUT
            data += r.Untagged("BYE", "Too many invalid commands").encode()
        return Reply(data)

    def _dispatch(self, command: m.Command) -> m.Command | Reply:
        allowed = _ALLOWED.get(type(command), _ANY)
        if self.state not in allowed:
            return self._tagged(
                command,
                "BAD",
                f"{type(command).__name__.upper()} is not valid in the {self.state.value} state",
            )
        self._bad = 0
        local = self._answer_locally(command)
        return command if local is None else local

    def _tagged(
        self,
        command: m.Command,
        status: str,
        text: str,
        code: r.Code | None = None,
        *untagged: r.Response,
    ) -> Reply:
        data = b"".join(u.encode() for u in untagged)
        return Reply(data + r.Tagged(command.tag, status, text, code).encode())

    def _answer_locally(self, command: m.Command) -> Reply | None:
        match command:
            case m.Capability():
                return self._tagged(
                    command,
                    "OK",
                    "CAPABILITY completed",
                    None,
                    r.CapabilityData(self.capabilities()),
                )
            case m.Noop() if self.state is not State.SELECTED:
                return self._tagged(command, "OK", "NOOP completed")
            case m.Logout():
                self.state = State.LOGOUT
                return self._tagged(
                    command, "OK", "LOGOUT completed", None, r.Untagged("BYE", "Logging out")
                )
            case m.Id():
                self.client_id = command.params
                info = (("name", self.settings.server_name), ("version", self.settings.version))
                return self._tagged(command, "OK", "ID completed", None, r.IdData(info))
            case m.Enable():
                return self._enable(command)
            case m.StartTLS() if self.tls or not self.settings.tls_available:
                return self._tagged(command, "BAD", "TLS is already active or not available")
            case m.Login() if not self.may_use_plaintext:
                return self._tagged(
                    command, "NO", "Use STARTTLS before LOGIN", r.Code("PRIVACYREQUIRED")
                )
            case m.Authenticate(mechanism="PLAIN") if not self.may_use_plaintext:
                return self._tagged(
                    command,
                    "NO",
                    "Use STARTTLS before AUTHENTICATE PLAIN",
                    r.Code("PRIVACYREQUIRED"),
                )
            case m.Compress():
                if self.compressed:
                    return self._tagged(
                        command, "NO", "Compression is already active", r.Code("COMPRESSIONACTIVE")
                    )
                if command.mechanism != "DEFLATE":
                    return self._tagged(command, "BAD", "Only DEFLATE is supported")
            case m.Search(charset=charset) if charset and charset.upper() not in SEARCH_CHARSETS:
                return self._tagged(
                    command, "NO", "Unsupported charset", r.Code("BADCHARSET", "(UTF-8 US-ASCII)")
                )
            case m.Fetch(vanished=True) if "QRESYNC" not in self.enabled:
                return self._tagged(command, "BAD", "VANISHED needs ENABLE QRESYNC")
            case m.Select(qresync=q) if q is not None and "QRESYNC" not in self.enabled:
                return self._tagged(command, "BAD", "QRESYNC parameter needs ENABLE QRESYNC")
        return None

    def _enable(self, command: m.Enable) -> Reply:
        wanted = [c for c in command.capabilities if c in ENABLEABLE and c not in self.enabled]
        added = set(wanted)
        if "QRESYNC" in added:
            added.add("CONDSTORE")  # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
        self.enabled = self.enabled | added
        names = tuple("IMAP4rev2" if c == "IMAP4REV2" else c for c in wanted)
        return self._tagged(command, "OK", "ENABLE completed", None, r.EnabledData(names))
