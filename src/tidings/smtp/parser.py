"""Pure SMTP command parsing: strict CRLF lines (RFC 5321 §2.3.8), line length limits
(§4.5.3.1.4, RFC 4954 §4 for AUTH) and typed commands with their ESMTP parameters."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from tidings.smtp import responses as r
from tidings.smtp.address import Address, AddressError, parse_mailbox, split_path
from tidings.smtp.params import MailParams, ParamError, RcptParams, parse_mail_params
from tidings.smtp.params import parse_rcpt_params as _parse_rcpt_params
from tidings.smtp.responses import Reply

MAX_AUTH_LINE_BYTES = 12288 + 2  # RFC 4954 §4: AUTH lines may be 12288 octets
MAX_COMMAND_LINE_BYTES = 2048  # 512 (§4.5.3.1.4) widened for SIZE/DSN/SMTPUTF8 params
MAX_BDAT_DIGITS = 18

_MECHANISM = re.compile(r"^[A-Z0-9_-]{1,20}\Z")
# Cross-protocol attacks (a browser tricked into POSTing to port 25): hang up at once.
_HTTP_VERBS = frozenset({"GET", "POST", "PUT", "HEAD", "CONNECT", "OPTIONS", "DELETE"})


class NeedData(enum.Enum):
    NEED_DATA = "need_data"


NEED_DATA = NeedData.NEED_DATA


class LineProblem(enum.Enum):
    TOO_LONG = "too_long"
    BARE_LINE_ENDING = "bare_line_ending"


class LineReader:
    """Takes CRLF-terminated lines off a shared buffer. A line over the limit is
    reported once and its remainder discarded up to the next LF, so the session
    goes on; a line with a bare CR or LF is reported, never interpreted."""

    def __init__(self, max_line_bytes: int = MAX_AUTH_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._discarding = False

    def read(self, buffer: bytearray) -> bytes | NeedData | LineProblem:
        """The next line without its CRLF, NEED_DATA, or a LineProblem."""
        while self._discarding:
            end = buffer.find(b"\n")
            if end < 0:
                buffer.clear()
                return NEED_DATA
            del buffer[: end + 1]
            self._discarding = False
        end = buffer.find(b"\n", 0, self.max_line_bytes)
        if end < 0:
            if len(buffer) >= self.max_line_bytes:
                rest = buffer.find(b"\n", self.max_line_bytes)
                if rest < 0:
                    buffer.clear()
                    self._discarding = True
                else:
                    del buffer[: rest + 1]
                return LineProblem.TOO_LONG
            return NEED_DATA
        line = bytes(buffer[: end + 1])
        del buffer[: end + 1]
        # RFC 5321 §2.3.8: only CRLF ends a line; a bare CR or LF must not be read as one.
        if not line.endswith(b"\r\n") or b"\r" in line[:-2]:
            return LineProblem.BARE_LINE_ENDING
        return line[:-2]


# --- commands ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Helo:
    name: str
    extended: bool  # EHLO rather than HELO


@dataclass(frozen=True, slots=True)
class Mail:
    sender: Address | None  # None: the null reverse-path <>
    params: MailParams


@dataclass(frozen=True, slots=True)
class Rcpt:
    recipient: Address
    params: RcptParams


@dataclass(frozen=True, slots=True)
class Data:
    pass


@dataclass(frozen=True, slots=True)
class Bdat:
    size: int
    last: bool


@dataclass(frozen=True, slots=True)
class Rset:
    pass


@dataclass(frozen=True, slots=True)
class Noop:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class StartTLS:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    mechanism: str  # upper-cased
    initial_response: str | None  # base64 text; "" for "=", None when absent


@dataclass(frozen=True, slots=True)
class Vrfy:
    argument: str


@dataclass(frozen=True, slots=True)
class Expn:
    argument: str


@dataclass(frozen=True, slots=True)
class Help:
    topic: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """A peer mistake: answer `reply` and go on (or hang up if `close`)."""

    reply: Reply
    close: bool = False


Command = (
    Helo | Mail | Rcpt | Data | Bdat | Rset | Noop | Quit | StartTLS | Auth | Vrfy | Expn | Help
)


def _syntax(text: str) -> Malformed:
    return Malformed(Reply.of(501, "5.5.4", text))


def _no_args(command: Command, verb: str, rest: str) -> Command | Malformed:
    if rest.strip():
        return _syntax(f"{verb} takes no arguments")
    return command


def parse_command(
    line: bytes, *, max_command_bytes: int = MAX_COMMAND_LINE_BYTES
) -> Command | Malformed:
    """Parse one command line (without CRLF). Never raises."""
    if b"\x00" in line:
        return Malformed(Reply.of(500, "5.5.2", "NUL byte in command"))
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Malformed(r.NOT_UTF8)
    verb, _, rest = text.partition(" ")
    verb = verb.upper()
    if verb != "AUTH" and len(line) + 2 > max_command_bytes:
        return Malformed(r.LINE_TOO_LONG)
    match verb:
        case "EHLO" | "HELO":
            return _parse_helo(verb, rest)
        case "MAIL":
            return _parse_mail(rest)
        case "RCPT":
            return _parse_rcpt(rest)
        case "DATA":
            return _no_args(Data(), verb, rest)
        case "BDAT":
            return _parse_bdat(rest)
        case "RSET":
            return _no_args(Rset(), verb, rest)
        case "NOOP":
            return Noop()  # RFC 5321 §4.1.1.9: an argument is allowed and ignored
        case "QUIT":
            return _no_args(Quit(), verb, rest)
        case "STARTTLS":
            return _no_args(StartTLS(), verb, rest)
        case "AUTH":
            return _parse_auth(rest)
        case "VRFY" | "EXPN":
            if not rest.strip():
                return _syntax(f"Syntax: {verb} <address or name>")
            return Vrfy(rest.strip()) if verb == "VRFY" else Expn(rest.strip())
        case "HELP":
            return Help(rest.strip())
        case _ if verb in _HTTP_VERBS:
            return Malformed(Reply.of(421, "4.7.0", "This is an SMTP server, not HTTP"), True)
        case _:
            return Malformed(r.UNRECOGNISED)


def _parse_helo(verb: str, rest: str) -> Helo | Malformed:
    args = rest.split()
    if not args:
        return _syntax(f"Syntax: {verb} hostname")
    name = args[0]
    if not name.isprintable() or len(name) > 255:
        return _syntax(f"{verb} needs a valid hostname or address literal")
    return Helo(name, verb == "EHLO")


def _path_and_params(rest: str, keyword: str) -> tuple[str, str] | Malformed:
    if rest[: len(keyword)].upper() != keyword:
        return _syntax(f"Syntax: {'MAIL FROM' if keyword == 'FROM:' else 'RCPT TO'}:<address>")
    # Many clients send "MAIL FROM: <a@b>"; tolerate the space (RFC 5321 §4.1.1.2 is strict).
    after = rest[len(keyword) :].lstrip(" ")
    try:
        path, params = split_path(after)
    except AddressError as exc:
        return _syntax(f"Bad address syntax: {exc}")
    if params and not params.startswith(" "):
        return _syntax("Parameters must be separated from the address by a space")
    return path, params


def _parse_mail(rest: str) -> Mail | Malformed:
    split = _path_and_params(rest, "FROM:")
    if isinstance(split, Malformed):
        return split
    path, param_text = split
    sender: Address | None = None
    if path:
        try:
            sender = parse_mailbox(path)
        except AddressError as exc:
            return Malformed(Reply.of(553, "5.1.7", f"Bad sender address syntax: {exc}"))
    try:
        params = parse_mail_params(param_text)
    except ParamError as exc:
        return Malformed(Reply.of(exc.code, exc.enhanced, exc.text))
    return Mail(sender, params)


def _parse_rcpt(rest: str) -> Rcpt | Malformed:
    split = _path_and_params(rest, "TO:")
    if isinstance(split, Malformed):
        return split
    path, param_text = split
    try:
        recipient = parse_mailbox(path, allow_bare_postmaster=True)
    except AddressError as exc:
        return Malformed(Reply.of(553, "5.1.3", f"Bad recipient address syntax: {exc}"))
    try:
        params = _parse_rcpt_params(param_text)
    except ParamError as exc:
        return Malformed(Reply.of(exc.code, exc.enhanced, exc.text))
    return Rcpt(recipient, params)


def _parse_bdat(rest: str) -> Bdat | Malformed:
    """RFC 3030 §2: BDAT chunk-size [LAST]."""
    args = rest.split(" ")
    size_text = args[0]
    if not size_text.isascii() or not size_text.isdigit() or len(size_text) > MAX_BDAT_DIGITS:
        return _syntax("Syntax: BDAT <size> [LAST]")
    if len(args) == 1:
        return Bdat(int(size_text), False)
    if len(args) == 2 and args[1].upper() == "LAST":
        return Bdat(int(size_text), True)
    return _syntax("Syntax: BDAT <size> [LAST]")


def _parse_auth(rest: str) -> Auth | Malformed:
    """RFC 4954 §4: AUTH mechanism [initial-response]; "=" is an empty response."""
    args = rest.split(" ")
    mechanism = args[0].upper()
    if not _MECHANISM.match(mechanism) or len(args) > 2:
        return _syntax("Syntax: AUTH mechanism [initial-response]")
    if len(args) == 1:
        return Auth(mechanism, None)
    initial = args[1]
    return Auth(mechanism, "" if initial == "=" else initial)
