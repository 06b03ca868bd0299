"""POP3 command parser: bytes in, typed commands out (RFC 1939 §3, RFC 2449 §4).

Incremental and sans-I/O: `LineReader` splits the byte stream into lines under a
length limit; `parse_command` turns one line into a `Command` or a `Malformed`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# RFC 2449 §4: a command line is at most 255 octets, the terminating CRLF included.
MAX_COMMAND_BYTES = 255
# RFC 5034 §4 puts no such limit on the client's SASL responses; SCRAM needs more.
MAX_SASL_RESPONSE_BYTES = 8192
MAX_NUMBER = 2**31 - 1


class Keyword(enum.StrEnum):
    USER = "USER"
    PASS = "PASS"
    APOP = "APOP"
    AUTH = "AUTH"
    CAPA = "CAPA"
    STLS = "STLS"
    STAT = "STAT"
    LIST = "LIST"
    RETR = "RETR"
    DELE = "DELE"
    NOOP = "NOOP"
    RSET = "RSET"
    TOP = "TOP"
    UIDL = "UIDL"
    QUIT = "QUIT"


@dataclass(frozen=True, slots=True)
class User:
    name: str


@dataclass(frozen=True, slots=True)
class Pass:
    password: str


@dataclass(frozen=True, slots=True)
class Apop:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    """AUTH [mechanism [initial-response]] (RFC 5034 §4); the response stays base64."""

    mechanism: str | None
    initial_response: str | None = None


@dataclass(frozen=True, slots=True)
class Capa:
    pass


@dataclass(frozen=True, slots=True)
class Stls:
    pass


@dataclass(frozen=True, slots=True)
class Stat:
    pass


@dataclass(frozen=True, slots=True)
class ListCommand:
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Retr:
    number: int


@dataclass(frozen=True, slots=True)
class Dele:
    number: int


@dataclass(frozen=True, slots=True)
class Noop:
    pass


@dataclass(frozen=True, slots=True)
class Rset:
    pass


@dataclass(frozen=True, slots=True)
class Top:
    number: int
    lines: int


@dataclass(frozen=True, slots=True)
class Uidl:
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Quit:
    pass


Command = (
    User
    | Pass
    | Apop
    | Auth
    | Capa
    | Stls
    | Stat
    | ListCommand
    | Retr
    | Dele
    | Noop
    | Rset
    | Top
    | Uidl
    | Quit
)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that is not a valid command; `reason` is safe to show the peer."""

    reason: str


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line over the limit; its bytes up to the next line end are thrown away."""

    limit: int


@dataclass(frozen=True, slots=True)
class NeedData:
    pass


NEED_DATA = NeedData()


class LineReader:
    """Splits bytes into lines ending in LF (a CR before it is dropped), under a limit.

    A line over the limit is reported once as `LineTooLong`, and the reader skips to
    the next LF, so the session answers and goes on (ARCHITECTURE.md rule 7).
    """

    def __init__(self, limit: int = MAX_COMMAND_BYTES) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def discard(self) -> None:
        """Forget buffered bytes (STLS: nothing sent before the handshake may count)."""
        self._buffer.clear()
        self._skipping = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_line(self) -> bytes | LineTooLong | NeedData:
        """The next complete line without its line end, or what happened instead."""
        while True:
            end = self._buffer.find(b"\n")
            if self._skipping:
                if end < 0:
                    self._buffer.clear()
                    return NEED_DATA
                del self._buffer[: end + 1]
                self._skipping = False
                continue
            if end < 0:
                if len(self._buffer) >= self.limit:
                    self._buffer.clear()
                    self._skipping = True
                    return LineTooLong(self.limit)
                return NEED_DATA
            if end + 1 > self.limit:
                del self._buffer[: end + 1]
                return LineTooLong(self.limit)
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            return line[:-1] if line.endswith(b"\r") else line


def _number(text: str) -> int | None:
    """A message number or line count: decimal digits only, within bounds."""
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_NUMBER else None


def _message_number(args: list[str], optional: bool) -> int | Malformed | None:
    if not args:
        return None if optional else Malformed("message number required")
    if len(args) > 1:
        return Malformed("too many arguments")
    number = _number(args[0])
    if number is None or number == 0:
        return Malformed("invalid message number")
    return number


def _parse_auth(args: list[str]) -> Auth | Malformed:
    if not args:
        return Auth(None)
    if len(args) > 2:
        return Malformed("too many arguments")
    mechanism = args[0].upper()
    if not mechanism or len(mechanism) > 20:
        return Malformed("invalid mechanism name")
    return Auth(mechanism, args[1] if len(args) == 2 else None)


def _parse_top(args: list[str]) -> Top | Malformed:
    if len(args) != 2:
        return Malformed("TOP needs a message number and a line count")
    number, lines = _number(args[0]), _number(args[1])
    if number is None or number == 0 or lines is None:
        return Malformed("invalid message number or line count")
    return Top(number, lines)


def _no_args(command: Command, args: list[str]) -> Command | Malformed:
    return Malformed("this command takes no arguments") if args else command


def parse_command(line: bytes) -> Command | Malformed:
    """Parse one command line (without its CRLF); never raises."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Malformed("command is not valid UTF-8")
    if any(ch < " " or ch == "\x7f" for ch in text):
        return Malformed("command holds control characters")
    name, _, rest = text.partition(" ")
    try:
        keyword = Keyword(name.upper())
    except ValueError:
        return Malformed("unknown command")
    if keyword is Keyword.PASS:
        # RFC 1939 §7: PASS has one argument, so spaces belong to the password.
        return Pass(rest) if rest else Malformed("password required")
    args = rest.split(" ") if rest else []
    if any(not arg for arg in args):
        return Malformed("arguments are separated by one space")
    return _parse_args(keyword, args)


def _parse_args(keyword: Keyword, args: list[str]) -> Command | Malformed:
    match keyword:
        case Keyword.USER:
            return User(args[0]) if len(args) == 1 else Malformed("USER needs one name")
        case Keyword.APOP:
            return Apop()
        case Keyword.AUTH:
            return _parse_auth(args)
        case Keyword.LIST | Keyword.UIDL:
            number = _message_number(args, optional=True)
            if isinstance(number, Malformed):
                return number
            return ListCommand(number) if keyword is Keyword.LIST else Uidl(number)
        case Keyword.RETR | Keyword.DELE:
            number = _message_number(args, optional=False)
            if isinstance(number, Malformed):
                return number
            assert number is not None
            return Retr(number) if keyword is Keyword.RETR else Dele(number)
        case Keyword.TOP:
            return _parse_top(args)
        case Keyword.CAPA:
            return _no_args(Capa(), args)
        case Keyword.STLS:
            return _no_args(Stls(), args)
        case Keyword.STAT:
            return _no_args(Stat(), args)
        case Keyword.NOOP:
            return _no_args(Noop(), args)
        case Keyword.RSET:
            return _no_args(Rset(), args)
        case Keyword.QUIT:
            return _no_args(Quit(), args)
        case Keyword.PASS:  # handled by the caller, before splitting
            return Malformed("password required")
