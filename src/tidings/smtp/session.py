"""The pure SMTP server session (RFC 5321 §4.1, §4.3.2 sequencing): bytes in,
replies and typed requests out. PIPELINING (RFC 2920), STARTTLS (RFC 3207), AUTH
(RFC 4954), CHUNKING/BINARYMIME (RFC 3030), SIZE, 8BITMIME, SMTPUTF8, DSN."""

from __future__ import annotations

import base64
import binascii
import enum

from tidings.smtp import responses as r
from tidings.smtp.data import BareLineEndings, ChunkReader, ContentDone, DataReader
from tidings.smtp.events import (
    Accepted,
    AuthChallenge,
    AuthResponse,
    AuthStart,
    AuthSucceeded,
    BeginTLS,
    CheckRecipient,
    CheckSender,
    ConnectionState,
    DeliverMessage,
    Envelope,
    EnvelopeRecipient,
    Outcome,
    Refused,
    Request,
)
from tidings.smtp.options import SessionConfig, ehlo_keywords
from tidings.smtp.params import BodyType, MailParams
from tidings.smtp.parser import (
    NEED_DATA,
    Auth,
    Bdat,
    Command,
    Data,
    Expn,
    Helo,
    Help,
    LineProblem,
    LineReader,
    Mail,
    Malformed,
    NeedData,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTLS,
    Vrfy,
    parse_command,
)
from tidings.smtp.responses import Reply

Step = Reply | Request | NeedData


class Mode(enum.Enum):
    COMMAND = "command"
    DATA = "data"
    BDAT = "bdat"
    AUTH = "auth"
    TLS_PENDING = "tls_pending"


class SMTPSession:
    """One connection's SMTP state machine; see STYLE.md §2 for the driver loop."""

    def __init__(
        self,
        config: SessionConfig,
        *,
        peer_host: str = "",
        tls: bool = False,
        loopback: bool = False,
        session_id: str = "",
    ) -> None:
        self.config = config
        self.connection = ConnectionState(
            tls=tls, loopback=loopback, peer_host=peer_host, session_id=session_id
        )
        self.envelope: Envelope | None = None
        self.closed = False
        self._buffer = bytearray()
        self._eof = False
        self._mode = Mode.COMMAND
        self._lines = LineReader()
        self._reader: DataReader | ChunkReader | None = None
        self._chunks = bytearray()
        self._chunking = False  # BDAT has started in this transaction
        self._chunk_last = False
        self._chunk_verdict: Reply | None = None
        self._pending: Request | None = None

    # --- the driver's interface ------------------------------------------------

    def greeting(self) -> Reply:
        return Reply.of(220, None, f"{self.config.hostname} ESMTP {self.config.software} ready")

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; b"" means the peer closed."""
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_step(self) -> Step:
        """A reply decided here, a request for the command layer, or NEED_DATA."""
        if self._pending is not None:
            raise RuntimeError("complete() the pending request before asking for the next step")
        if self.closed:
            return NEED_DATA
        step: Step
        match self._mode:
            case Mode.COMMAND:
                step = self._next_command()
            case Mode.DATA | Mode.BDAT:
                step = self._next_content()
            case Mode.AUTH:
                step = self._next_auth_line()
            case Mode.TLS_PENDING:
                raise RuntimeError("STARTTLS pending: call tls_established() first")
        if step is NEED_DATA and self._eof:
            self.closed = True
        if not isinstance(step, Reply | NeedData):
            self._pending = step
        return step

    def complete(self, request: Request, outcome: Outcome) -> Reply:
        """Apply the command layer's outcome to the state; return the reply."""
        if request is not self._pending:
            raise RuntimeError("complete() called for a request that is not pending")
        self._pending = None
        match request:
            case CheckSender():
                return self._sender_done(request, outcome)
            case CheckRecipient():
                return self._recipient_done(request, outcome)
            case DeliverMessage():
                return self._message_done(outcome)
            case AuthStart() | AuthResponse():
                return self._auth_done(outcome)
            case BeginTLS():
                self._mode = Mode.TLS_PENDING
                return r.TLS_READY
        raise TypeError(f"unknown request {request!r}")

    def tls_established(self) -> None:
        """The stream is now TLS: forget everything learnt in plaintext (RFC 3207 §4.2)."""
        self._buffer.clear()
        self._mode = Mode.COMMAND
        self._reset_transaction()
        conn = self.connection
        conn.tls = True
        conn.ehlo_name = None
        conn.esmtp = False
        conn.principal = None

    @property
    def auth_offered(self) -> bool:
        """Submission offers AUTH over TLS, or in plaintext on loopback when allowed."""
        conn = self.connection
        if not self.config.kind.is_submission or not self.config.auth_mechanisms:
            return False
        return conn.tls or (conn.loopback and self.config.allow_plaintext_auth_on_loopback)

    # --- command mode ------------------------------------------------------------

    def _next_command(self) -> Step:
        line = self._lines.read(self._buffer)
        if line is NEED_DATA:
            return NEED_DATA
        if line is LineProblem.TOO_LONG:
            return self._error(r.LINE_TOO_LONG)
        if line is LineProblem.BARE_LINE_ENDING:
            return self._error(r.BARE_LINE_ENDING)
        assert isinstance(line, bytes)
        command = parse_command(line, max_command_bytes=self.config.max_command_bytes)
        if isinstance(command, Malformed):
            return self._close(command.reply) if command.close else self._error(command.reply)
        return self._dispatch(command)

    def _dispatch(self, command: Command) -> Step:
        match command:
            case Helo():
                return self._helo(command)
            case Mail():
                return self._mail(command)
            case Rcpt():
                return self._rcpt(command)
            case Data():
                return self._data()
            case Bdat():
                return self._bdat(command)
            case StartTLS():
                return self._starttls()
            case Auth():
                return self._auth(command)
            case Rset():
                self._reset_transaction()
                return self._junk(r.RESET_OK)
            case Noop():
                return self._junk(r.OK)
            case Vrfy():
                return self._junk(r.VRFY_ANSWER)
            case Expn():
                return self._junk(r.EXPN_DISABLED)
            case Help():
                return self._junk(r.HELP_TEXT)
            case Quit():
                return self._close(Reply.of(221, "2.0.0", f"{self.config.hostname} closing"))
        raise TypeError(f"unknown command {command!r}")

    def _helo(self, command: Helo) -> Reply:
        self._reset_transaction()
        conn = self.connection
        conn.ehlo_name = command.name
        conn.esmtp = command.extended
        first = f"{self.config.hostname} Hello {command.name}"
        if not command.extended:
            return Reply.of(250, None, first)
        return Reply(
            250,
            None,
            (
                first,
                *ehlo_keywords(
                    self.config, tls=self.connection.tls, auth_offered=self.auth_offered
                ),
            ),
        )

    def _mail(self, command: Mail) -> Step:
        conn = self.connection
        if conn.ehlo_name is None:
            return self._error(r.BAD_SEQUENCE_HELO)
        if self.config.kind.is_submission and conn.principal is None:
            if not conn.tls and not self.auth_offered:
                return self._error(r.TLS_REQUIRED)
            return self._error(r.AUTH_REQUIRED)
        if self.envelope is not None:
            return self._error(r.NESTED_MAIL)
        params = command.params
        if not conn.esmtp and params != MailParams():
            return self._error(r.HELO_PARAMETERS)
        if params.size is not None and params.size > self.config.max_message_bytes:
            return self._error(
                Reply.of(
                    552,
                    "5.3.4",
                    f"Message size exceeds the limit of {self.config.max_message_bytes} octets",
                )
            )
        if command.sender is not None and not command.sender.is_ascii and not params.smtputf8:
            return self._error(r.NEEDS_SMTPUTF8)
        return CheckSender(command.sender, params, conn.trace())

    def _rcpt(self, command: Rcpt) -> Step:
        envelope = self.envelope
        if envelope is None:
            return self._error(r.BAD_SEQUENCE_MAIL)
        if self._chunking:
            return self._error(r.RCPT_AFTER_BDAT)
        if len(envelope.recipients) >= self.config.max_recipients:
            return r.TOO_MANY_RECIPIENTS
        if not command.recipient.is_ascii and not envelope.params.smtputf8:
            return self._error(r.NEEDS_SMTPUTF8)
        return CheckRecipient(command.recipient, command.params, envelope, self.connection.trace())

    def _data(self) -> Step:
        envelope = self.envelope
        if envelope is None:
            return self._error(r.BAD_SEQUENCE_MAIL)
        if not envelope.recipients:
            return self._error(r.NO_VALID_RECIPIENTS)
        if envelope.params.body is BodyType.BINARY_MIME or self._chunking:
            return self._error(r.USE_BDAT)
        self._reader = DataReader(self.config.max_message_bytes, self.config.bare_line_endings)
        self._mode = Mode.DATA
        return r.START_MAIL_INPUT

    def _bdat(self, command: Bdat) -> Step:
        """RFC 3030 §2: always read the chunk, then reply (with an error if need be)."""
        verdict: Reply | None = None
        if self.connection.ehlo_name is None:
            verdict = r.BAD_SEQUENCE_HELO
        elif self.envelope is None:
            verdict = r.BAD_SEQUENCE_MAIL
        elif not self.envelope.recipients:
            verdict = r.NO_VALID_RECIPIENTS
        room = 0 if verdict else self.config.max_message_bytes - len(self._chunks)
        self._reader = ChunkReader(command.size, room)
        self._chunk_verdict = verdict
        self._chunk_last = command.last
        self._chunking = verdict is None
        self._mode = Mode.BDAT
        return self._next_content()

    def _starttls(self) -> Step:
        if self.connection.tls:
            return self._error(r.TLS_ACTIVE)
        if not self.config.tls_available:
            return self._error(r.NO_STARTTLS)
        if self.envelope is not None:
            return self._error(r.TRANSACTION_OPEN)
        # RFC 3207 §5 (CVE-2011-0411): anything pipelined after STARTTLS is discarded.
        self._buffer.clear()
        return BeginTLS()

    def _auth(self, command: Auth) -> Step:
        conn = self.connection
        if not self.config.kind.is_submission:
            return self._error(r.AUTH_NOT_OFFERED)
        if conn.ehlo_name is None or not conn.esmtp:
            return self._error(r.AUTH_NEEDS_EHLO)
        if conn.principal is not None:
            return self._error(r.ALREADY_AUTHENTICATED)
        if self.envelope is not None:
            return self._error(r.AUTH_IN_TRANSACTION)
        if not self.auth_offered:
            return self._error(r.ENCRYPTION_REQUIRED)
        if command.mechanism not in self.config.auth_mechanisms:
            return self._error(r.UNKNOWN_MECHANISM)
        initial: bytes | None = None
        if command.initial_response is not None:
            decoded = _b64decode(command.initial_response)
            if decoded is None:
                return self._error(r.BAD_BASE64)
            initial = decoded
        return AuthStart(command.mechanism, initial)

    # --- other modes ---------------------------------------------------------------

    def _next_content(self) -> Step:
        reader = self._reader
        assert reader is not None
        done = reader.read(self._buffer)
        if isinstance(done, NeedData):
            return NEED_DATA
        self._reader = None
        was_data = self._mode is Mode.DATA
        self._mode = Mode.COMMAND
        return self._data_done(done) if was_data else self._chunk_done(done)

    def _data_done(self, done: ContentDone) -> Step:
        envelope = self.envelope
        assert envelope is not None
        if done.too_big:
            self._reset_transaction()
            return r.MESSAGE_TOO_BIG
        if done.bare_line_ending and self.config.bare_line_endings is BareLineEndings.REJECT:
            self._reset_transaction()
            return r.BARE_LINE_ENDING_IN_DATA
        return DeliverMessage(envelope, done.content, self.connection.trace())

    def _chunk_done(self, done: ContentDone) -> Step:
        if self._chunk_verdict is not None:
            verdict, self._chunk_verdict = self._chunk_verdict, None
            return self._error(verdict)
        envelope = self.envelope
        assert envelope is not None
        if done.too_big:
            self._reset_transaction()
            return r.MESSAGE_TOO_BIG
        self._chunks += done.content
        if not self._chunk_last:
            return Reply.of(250, "2.0.0", f"{done.size} octets received")
        return DeliverMessage(envelope, bytes(self._chunks), self.connection.trace())

    def _next_auth_line(self) -> Step:
        line = self._lines.read(self._buffer)
        if line is NEED_DATA:
            return NEED_DATA
        self._mode = Mode.COMMAND
        if not isinstance(line, bytes):
            return self._error(r.BAD_BASE64)
        if line == b"*":
            return self._error(r.AUTH_CANCELLED)
        decoded = _b64decode(line.decode("ascii", "replace"))
        if decoded is None:
            return self._error(r.BAD_BASE64)
        return AuthResponse(decoded)

    # --- outcomes ------------------------------------------------------------------

    def _sender_done(self, request: CheckSender, outcome: Outcome) -> Reply:
        if isinstance(outcome, Refused):
            return self._error(outcome.reply)
        self.envelope = Envelope(request.sender, request.params)
        sender = "" if request.sender is None else str(request.sender)
        return Reply.of(250, "2.1.0", f"Sender <{sender}> OK")

    def _recipient_done(self, request: CheckRecipient, outcome: Outcome) -> Reply:
        if isinstance(outcome, Refused):
            if outcome.reply.code == 452:
                return outcome.reply  # quota or limits: not the client's fault
            return self._error(outcome.reply)
        envelope = self.envelope
        assert envelope is not None
        payload = outcome.payload if isinstance(outcome, Accepted) else None
        added = EnvelopeRecipient(request.recipient, request.params, payload)
        self.envelope = Envelope(envelope.sender, envelope.params, (*envelope.recipients, added))
        return Reply.of(250, "2.1.5", f"Recipient <{request.recipient}> OK")

    def _message_done(self, outcome: Outcome) -> Reply:
        self._reset_transaction()
        self.connection.messages += 1
        if isinstance(outcome, Refused):
            return outcome.reply
        text = outcome.text if isinstance(outcome, Accepted) and outcome.text else "OK"
        return Reply.of(250, "2.0.0", text)

    def _auth_done(self, outcome: Outcome) -> Reply:
        match outcome:
            case AuthChallenge():
                self._mode = Mode.AUTH
                return Reply.of(334, None, base64.b64encode(outcome.data).decode("ascii"))
            case AuthSucceeded():
                self.connection.principal = outcome.principal
                return r.AUTH_SUCCEEDED
            case Refused():
                return self._error(outcome.reply)
            case _:
                return self._error(r.AUTH_FAILED)

    # --- helpers -------------------------------------------------------------------

    def _reset_transaction(self) -> None:
        self.envelope = None
        self._chunks = bytearray()
        self._chunking = False
        self._chunk_verdict = None

    def _error(self, reply: Reply) -> Reply:
        """A peer error; too many of them and we hang up (a confused or hostile peer)."""
        self.connection.bad_commands += 1
        if self.connection.bad_commands > self.config.max_bad_commands:
            return self._close(r.TOO_MANY_ERRORS)
        return reply

    def _junk(self, reply: Reply) -> Reply:
        self.connection.junk_commands += 1
        if self.connection.junk_commands > self.config.max_junk_commands:
            return self._close(r.TOO_MANY_COMMANDS)
        return reply

    def _close(self, reply: Reply) -> Reply:
        self.closed = True
        return reply


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
