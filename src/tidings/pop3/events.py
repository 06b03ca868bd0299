"""The typed values between the POP3 session and its command layer: requests the
session emits, outcomes the command layer hands back (STYLE.md §2)."""

from __future__ import annotations

from dataclasses import dataclass

from tidings.model.ids import UID, BlobId
from tidings.pop3.responses import Reply, ResponseCode


@dataclass(frozen=True, slots=True)
class MaildropEntry:
    """One message of the maildrop as the session lists it."""

    uid: UID
    unique_id: str  # UIDL: stable across sessions (RFC 1939 §7)
    size: int
    blob_id: BlobId


# --- requests for the command layer ------------------------------------------------
@dataclass(frozen=True, slots=True)
class Login:
    """USER/PASS: check the password, lock and open the maildrop."""

    user: str
    password: str


@dataclass(frozen=True, slots=True)
class SASLStart:
    mechanism: str
    initial_response: bytes | None  # None: the client sent none; b"": "=" (empty)


@dataclass(frozen=True, slots=True)
class SASLResponse:
    data: bytes


@dataclass(frozen=True, slots=True)
class SASLCancel:
    """The client sent "*" (or an undecodable line); drop the exchange."""

    reason: str


@dataclass(frozen=True, slots=True)
class Fetch:
    """RETR (top_lines None) or TOP: read one message's bytes."""

    number: int
    entry: MaildropEntry
    top_lines: int | None = None


@dataclass(frozen=True, slots=True)
class Update:
    """QUIT in TRANSACTION (RFC 1939 §6): remove `deleted`, mark `retrieved` seen,
    both committed before the +OK."""

    deleted: tuple[MaildropEntry, ...]
    retrieved: tuple[MaildropEntry, ...]


Request = Login | SASLStart | SASLResponse | SASLCancel | Fetch | Update


# --- outcomes the command layer hands back ------------------------------------------
@dataclass(frozen=True, slots=True)
class Opened:
    """Authenticated, the maildrop locked; its messages in order (numbers from 1)."""

    user: str
    entries: tuple[MaildropEntry, ...]


@dataclass(frozen=True, slots=True)
class Challenge:
    data: bytes


@dataclass(frozen=True, slots=True)
class Content:
    data: bytes


@dataclass(frozen=True, slots=True)
class Updated:
    removed: int


@dataclass(frozen=True, slots=True)
class Refused:
    """The request failed; `text` and `code` go to the peer."""

    text: str
    code: ResponseCode | None = None
    closes: bool = False


Outcome = Opened | Challenge | Content | Updated | Refused


@dataclass(frozen=True, slots=True)
class StartTLS:
    """STLS accepted: send `reply`, run the handshake, then call `tls_started`."""

    reply: Reply
