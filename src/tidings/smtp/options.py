"""Per-listener settings of the SMTP session and the EHLO keywords they imply
(RFC 5321 §4.1.1.1, RFC 2920, RFC 1870, RFC 6152, RFC 6531, RFC 2034, RFC 3030,
RFC 3461, RFC 3207, RFC 4954)."""

from __future__ import annotations

from dataclasses import dataclass

from tidings.smtp.data import BareLineEndings
from tidings.smtp.events import ListenerKind
from tidings.smtp.parser import MAX_COMMAND_LINE_BYTES

DEFAULT_MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Per-listener settings of the session; every limit has its reply code."""

    hostname: str
    kind: ListenerKind = ListenerKind.MX
    max_message_bytes: int = 50 * 1024 * 1024  # 552 5.3.4
    max_recipients: int = 100  # 452 4.5.3
    max_bad_commands: int = 20  # then 421 4.7.0 and hang up
    max_junk_commands: int = 100  # NOOP/RSET/VRFY/EXPN/HELP; then 421
    max_command_bytes: int = MAX_COMMAND_LINE_BYTES  # 500 5.5.2
    tls_available: bool = True
    auth_mechanisms: tuple[str, ...] = DEFAULT_MECHANISMS
    allow_plaintext_auth_on_loopback: bool = False
    bare_line_endings: BareLineEndings = BareLineEndings.REJECT
    software: str = "Tidings"


def ehlo_keywords(config: SessionConfig, *, tls: bool, auth_offered: bool) -> list[str]:
    """The extension lines of the EHLO reply for this connection's state."""
    lines = [
        "PIPELINING",
        f"SIZE {config.max_message_bytes}",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "BINARYMIME",
        "DSN",
    ]
    if config.tls_available and not tls:
        lines.append("STARTTLS")
    if auth_offered:
        lines.append("AUTH " + " ".join(config.auth_mechanisms))
    lines.append("HELP")
    return lines
