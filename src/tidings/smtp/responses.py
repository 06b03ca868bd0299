"""SMTP replies: typed values serialised as (multi-line) replies, RFC 5321 §4.2,
with enhanced status codes (RFC 2034, RFC 3463)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_REPLY_TEXT = 400  # keep each reply line well under RFC 5321 §4.5.3.1.5's 512 octets


def _clean(text: str) -> str:
    """One safe line of text: no CR/LF (reply injection), bounded length."""
    flat = "".join(" " if ch in "\r\n" or ch < " " else ch for ch in text)
    return flat[:MAX_REPLY_TEXT]


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: a three-digit code, an optional enhanced code and text lines."""

    code: int
    enhanced: str | None
    lines: tuple[str, ...]

    @classmethod
    def of(cls, code: int, enhanced: str | None, *lines: str) -> Reply:
        return cls(code, enhanced, tuple(lines) or ("",))

    @property
    def is_positive(self) -> bool:
        return 200 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def encode(self) -> bytes:
        """Wire form: "250-first" continuation lines, then "250 last" (RFC 5321 §4.2.1)."""
        out: list[str] = []
        last = len(self.lines) - 1
        for index, line in enumerate(self.lines):
            sep = " " if index == last else "-"
            prefix = f"{self.code}{sep}"
            if self.enhanced is not None:
                prefix += f"{self.enhanced} "
            out.append(prefix + _clean(line) + "\r\n")
        return "".join(out).encode("utf-8", "replace")


def parse_reply_line(line: bytes) -> tuple[int, bool, str]:
    """Split one wire line into (code, is_last, text); for tests and the client side.

    Raises ValueError on a line that is not a reply.
    """
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    if len(text) < 3 or not text[:3].isdigit() or (len(text) > 3 and text[3] not in " -"):
        raise ValueError(f"not an SMTP reply line: {text!r}")
    return int(text[:3]), len(text) == 3 or text[3] == " ", text[4:]


# --- replies used in more than one place --------------------------------------------

OK = Reply.of(250, "2.0.0", "OK")
BAD_SEQUENCE_HELO = Reply.of(503, "5.5.1", "Send EHLO or HELO first")
BAD_SEQUENCE_MAIL = Reply.of(503, "5.5.1", "Send MAIL FROM first")
NESTED_MAIL = Reply.of(503, "5.5.1", "A transaction is already open; finish it or send RSET")
NO_VALID_RECIPIENTS = Reply.of(554, "5.5.1", "No valid recipients; send RCPT TO first")
UNRECOGNISED = Reply.of(500, "5.5.2", "Command not recognised")
LINE_TOO_LONG = Reply.of(500, "5.5.2", "Line too long")
BARE_LINE_ENDING = Reply.of(
    500, "5.5.2", "Bare CR or LF in command; SMTP lines must end with CRLF (RFC 5321 §2.3.8)"
)
NOT_UTF8 = Reply.of(500, "5.5.2", "Command is not valid UTF-8")
TOO_MANY_ERRORS = Reply.of(421, "4.7.0", "Too many errors on this connection; closing it")
TOO_MANY_COMMANDS = Reply.of(421, "4.7.0", "Too many commands on this connection; closing it")
MESSAGE_TOO_BIG = Reply.of(552, "5.3.4", "Message is larger than this server accepts")
TOO_MANY_RECIPIENTS = Reply.of(
    452, "4.5.3", "Too many recipients for one message; send the rest in another"
)
AUTH_REQUIRED = Reply.of(530, "5.7.0", "Authentication required; send AUTH first")
ENCRYPTION_REQUIRED = Reply.of(
    538, "5.7.11", "Encryption required for authentication; send STARTTLS first"
)
TLS_REQUIRED = Reply.of(530, "5.7.0", "Must issue a STARTTLS command first")
AUTH_FAILED = Reply.of(535, "5.7.8", "Authentication credentials invalid")
AUTH_CANCELLED = Reply.of(501, "5.0.0", "Authentication cancelled")
AUTH_SUCCEEDED = Reply.of(235, "2.7.0", "Authentication successful")
TEMPORARY_FAILURE = Reply.of(451, "4.3.0", "Temporary local problem; please try again later")
SERVICE_CLOSING = Reply.of(221, "2.0.0", "Bye")
TIMEOUT = Reply.of(421, "4.4.2", "Timeout waiting for input; closing connection")
SHUTTING_DOWN = Reply.of(421, "4.3.2", "Server shutting down; please try again later")
BUSY = Reply.of(421, "4.7.0", "Too many connections; please try again later")

# --- the session's own answers ---------------------------------------------------------

RESET_OK = Reply.of(250, "2.0.0", "OK, transaction reset")
VRFY_ANSWER = Reply.of(
    252, "2.0.0", "Cannot verify the user, but will accept mail and try delivery"
)
EXPN_DISABLED = Reply.of(502, "5.5.1", "EXPN is disabled on this server")
HELP_TEXT = Reply.of(
    214,
    "2.0.0",
    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY",
    "STARTTLS AUTH HELP QUIT. See RFC 5321.",
)
TLS_READY = Reply.of(220, "2.0.0", "Ready to start TLS")
START_MAIL_INPUT = Reply.of(354, None, "End data with <CR><LF>.<CR><LF>")
HELO_PARAMETERS = Reply.of(555, "5.5.4", "Parameters need EHLO, not HELO")
RCPT_AFTER_BDAT = Reply.of(503, "5.5.1", "RCPT cannot follow BDAT; send RSET")
USE_BDAT = Reply.of(503, "5.5.1", "Use BDAT for this message (BODY=BINARYMIME or BDAT started)")
TLS_ACTIVE = Reply.of(503, "5.5.1", "TLS is already active")
NO_STARTTLS = Reply.of(502, "5.5.1", "STARTTLS is not available here")
TRANSACTION_OPEN = Reply.of(503, "5.5.1", "Finish or reset the transaction first")
AUTH_NOT_OFFERED = Reply.of(
    503, "5.5.1", "Authentication is not offered on this port; use submission"
)
AUTH_NEEDS_EHLO = Reply.of(503, "5.5.1", "Send EHLO before AUTH")
ALREADY_AUTHENTICATED = Reply.of(503, "5.5.1", "Already authenticated")
AUTH_IN_TRANSACTION = Reply.of(503, "5.5.1", "AUTH is not allowed inside a transaction")
UNKNOWN_MECHANISM = Reply.of(504, "5.5.4", "Unrecognised authentication mechanism")
BARE_LINE_ENDING_IN_DATA = Reply.of(
    550, "5.5.2", "Message refused: bare CR or LF in the data; lines must end with CRLF"
)
NEEDS_SMTPUTF8 = Reply.of(
    553, "5.6.7", "Non-ASCII address: declare SMTPUTF8 in MAIL FROM (RFC 6531)"
)
BAD_BASE64 = Reply.of(501, "5.5.2", "Cannot decode the base64 response")
