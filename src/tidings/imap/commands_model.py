"""Typed IMAP commands (RFC 9051 §6 and the extensions Tidings offers), one class each.

The parser produces these; the session and the command layer consume them.
Mailbox names are kept as the client wrote them (modified UTF-7 or UTF-8);
the session decodes them, because that depends on UTF8=ACCEPT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tidings.imap.search_model import SearchKey
from tidings.imap.sequence import SequenceSet
from tidings.model.mail import FlagOperation


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every parsed command; `tag` as the client sent it."""

    tag: str


# --- any state ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Capability(Command):
    pass


@dataclass(frozen=True, slots=True)
class Noop(Command):
    pass


@dataclass(frozen=True, slots=True)
class Logout(Command):
    pass


@dataclass(frozen=True, slots=True)
class Id(Command):
    """RFC 2971: the client's (field, value) pairs, or None for NIL."""

    params: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True)
class Enable(Command):
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Compress(Command):
    mechanism: str


# --- not authenticated -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartTLS(Command):
    pass


@dataclass(frozen=True, slots=True)
class Login(Command):
    user: str
    password: str

    def __repr__(self) -> str:  # never leak a password into a log line
        return f"Login(tag={self.tag!r}, user={self.user!r}, password=<redacted>)"


@dataclass(frozen=True, slots=True)
class Authenticate(Command):
    """RFC 9051 §6.2.2 with SASL-IR (RFC 4959): `initial` is decoded base64,
    b"" for "=", None when the client sent no initial response."""

    mechanism: str
    initial: bytes | None

    def __repr__(self) -> str:
        return f"Authenticate(tag={self.tag!r}, mechanism={self.mechanism!r})"


# --- authenticated -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QResyncParams:
    """RFC 7162 §3.2.5: SELECT's (QRESYNC (uidvalidity modseq [uids [(seqs uids)]]))."""

    uid_validity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True, slots=True)
class Select(Command):
    mailbox: str
    readonly: bool = False  # EXAMINE
    condstore: bool = False
    qresync: QResyncParams | None = None


@dataclass(frozen=True, slots=True)
class Create(Command):
    mailbox: str
    special_use: tuple[str, ...] = ()  # RFC 6154 CREATE ... (USE (\Sent))


@dataclass(frozen=True, slots=True)
class Delete(Command):
    mailbox: str


@dataclass(frozen=True, slots=True)
class Rename(Command):
    mailbox: str
    new_name: str


@dataclass(frozen=True, slots=True)
class Subscribe(Command):
    mailbox: str
    subscribe: bool = True  # False: UNSUBSCRIBE


@dataclass(frozen=True, slots=True)
class List(Command):
    """LIST with RFC 5258 selection/return options, RFC 5819 STATUS, RFC 6154."""

    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()  # SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE
    returns: frozenset[str] = frozenset()  # SUBSCRIBED CHILDREN SPECIAL-USE
    status_items: tuple[str, ...] | None = None  # RETURN (STATUS (...))
    extended: bool = False  # any LIST-EXTENDED syntax was used
    lsub: bool = False  # LSUB (RFC 3501)


@dataclass(frozen=True, slots=True)
class Status(Command):
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AppendMessage:
    flags: tuple[str, ...]
    internal_date: datetime | None
    data: bytes
    binary: bool = False  # sent as literal8 (RFC 3516)


@dataclass(frozen=True, slots=True)
class Append(Command):
    mailbox: str
    messages: tuple[AppendMessage, ...]  # more than one: MULTIAPPEND (RFC 3502)


@dataclass(frozen=True, slots=True)
class Idle(Command):
    pass


@dataclass(frozen=True, slots=True)
class Namespace(Command):
    pass


@dataclass(frozen=True, slots=True)
class GetQuota(Command):
    root: str


@dataclass(frozen=True, slots=True)
class GetQuotaRoot(Command):
    mailbox: str


@dataclass(frozen=True, slots=True)
class SetQuota(Command):
    root: str
    limits: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class SetAcl(Command):
    """RFC 4314 §3.1; `rights` may start with "+" or "-"."""

    mailbox: str
    identifier: str
    rights: str


@dataclass(frozen=True, slots=True)
class DeleteAcl(Command):
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True)
class GetAcl(Command):
    mailbox: str


@dataclass(frozen=True, slots=True)
class ListRights(Command):
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True)
class MyRights(Command):
    mailbox: str


# --- selected ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Check(Command):
    pass


@dataclass(frozen=True, slots=True)
class Close(Command):
    pass


@dataclass(frozen=True, slots=True)
class Unselect(Command):
    pass


@dataclass(frozen=True, slots=True)
class Expunge(Command):
    uids: SequenceSet | None = None  # UID EXPUNGE (RFC 4315)


@dataclass(frozen=True, slots=True)
class Section:
    """A BODY[...] / BINARY[...] section (RFC 9051 §6.4.5)."""

    part: tuple[int, ...] = ()
    text: str | None = None  # HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
    fields: tuple[str, ...] = ()

    def render(self) -> str:
        """The section spec as it appears between the brackets of a response."""
        pieces = [".".join(str(p) for p in self.part)] if self.part else []
        if self.text:
            text = self.text
            if self.fields:
                text += " (" + " ".join(self.fields) + ")"
            pieces.append(text)
        return ".".join(pieces)


@dataclass(frozen=True, slots=True)
class FetchAttribute:
    """One FETCH item: `name` is upper case (FLAGS, BODY, BINARY, BINARY.SIZE, ...)."""

    name: str
    section: Section | None = None
    partial: tuple[int, int] | None = None  # <start.length>
    peek: bool = False


@dataclass(frozen=True, slots=True)
class Fetch(Command):
    sequence: SequenceSet
    attributes: tuple[FetchAttribute, ...]
    uid: bool = False
    changed_since: int | None = None  # CONDSTORE (RFC 7162 §3.1.4)
    vanished: bool = False  # QRESYNC (RFC 7162 §3.2.6)


@dataclass(frozen=True, slots=True)
class Store(Command):
    sequence: SequenceSet
    operation: FlagOperation
    flags: tuple[str, ...]
    silent: bool = False
    uid: bool = False
    unchanged_since: int | None = None


@dataclass(frozen=True, slots=True)
class Copy(Command):
    sequence: SequenceSet
    mailbox: str
    uid: bool = False
    move: bool = False


@dataclass(frozen=True, slots=True)
class Search(Command):
    """SEARCH with ESEARCH return options (RFC 4731) and SEARCHRES SAVE (RFC 5182)."""

    key: SearchKey
    charset: str | None = None
    uid: bool = False
    returns: tuple[str, ...] | None = None  # None: no RETURN clause


@dataclass(frozen=True, slots=True)
class Sort(Command):
    """RFC 5256 SORT; criteria like ("REVERSE", "DATE") flattened to (reverse, key) pairs."""

    criteria: tuple[tuple[bool, str], ...]
    charset: str
    key: SearchKey
    uid: bool = False
    returns: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Thread(Command):
    algorithm: str
    charset: str
    key: SearchKey
    uid: bool = False


# --- continuation lines the session asks the parser for --------------------------
@dataclass(frozen=True, slots=True)
class IdleDone:
    """The DONE line that ends IDLE."""


@dataclass(frozen=True, slots=True)
class SASLResponse:
    """One client line during AUTHENTICATE: decoded bytes, or cancelled for "*"."""

    data: bytes
    cancelled: bool = False

    def __repr__(self) -> str:
        return f"SASLResponse(cancelled={self.cancelled})"
