"""The SMTP client of outbound delivery (RFC 5321) on aiosmtplib: tries a route's
hosts in order, EHLO with our hostname, opportunistic STARTTLS (RFC 3207, no
certificate check: MTA-STS and DANE come later), SIZE (RFC 1870), 8BITMIME
(RFC 6152), SMTPUTF8 (RFC 6531), DSN parameters (RFC 3461), per-recipient replies,
and one connection reused for several messages to the same destination."""

from __future__ import annotations

import enum
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from tidings.delivery.outbound.resolver import MailHost, Route, RouteError
from tidings.delivery.outbound.results import AttemptResult, Outcome, result_for, temporary

log = logging.getLogger(__name__)

# Errors that mean "this connection is unusable": retry later or elsewhere.
CONNECTION_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


class TLSMode(enum.StrEnum):
    OPPORTUNISTIC = "opportunistic"  # STARTTLS when offered; plain text if it fails
    REQUIRED = "starttls"  # STARTTLS or no delivery
    IMPLICIT = "implicit"  # TLS from the first byte (RFC 8314)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    hostname: str  # what we say in EHLO
    connect_timeout: float = 30.0
    command_timeout: float = 300.0
    tls: TLSMode = TLSMode.OPPORTUNISTIC
    username: str = ""
    password: str = ""
    # None: an unverified context (opportunistic TLS only protects against passive
    # eavesdroppers until MTA-STS/DANE say which certificate to expect).
    tls_context: ssl.SSLContext | None = None


@dataclass(frozen=True, slots=True)
class OutboundRecipient:
    address: str
    notify: str | None = None  # RFC 3461 NOTIFY, e.g. "FAILURE,DELAY"
    orcpt: str | None = None  # "rfc822;addr", decoded


@dataclass(frozen=True, slots=True)
class OutboundEnvelope:
    sender: str  # "" for a bounce
    recipients: tuple[OutboundRecipient, ...]
    content: bytes  # CRLF lines, not dot-stuffed
    ret: str | None = None
    envid: str | None = None


def unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def xtext(value: str) -> str:
    """RFC 3461 §4: encode "+", "=" and characters outside "!".."~" as +XX."""
    out = []
    for byte in value.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (ord("+"), ord("=")):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def needs_smtputf8(envelope: OutboundEnvelope) -> bool:
    """Non-ASCII addresses (or RFC 6532 header fields) need SMTPUTF8."""
    addresses = [envelope.sender, *(r.address for r in envelope.recipients)]
    if not all(a.isascii() for a in addresses):
        return True
    header_end = envelope.content.find(b"\r\n\r\n")
    headers = envelope.content if header_end < 0 else envelope.content[:header_end]
    return not headers.isascii()


class OutboundClient:
    """Delivers messages over one (lazily opened, reused) connection to one route."""

    def __init__(self, route: Route, settings: ClientSettings) -> None:
        self.route = route
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._host: MailHost | None = None
        self._failure: RouteError | None = None  # remembered for the rest of the run
        self.connections = 0

    @property
    def remote(self) -> str:
        return self._host.name if self._host else ""

    async def deliver(self, envelope: OutboundEnvelope) -> list[AttemptResult]:
        """One transaction; a result for every recipient (never raises for SMTP trouble)."""
        if self._smtp is None or not self._smtp.is_connected:
            await self._drop()
            if self._failure is None:
                try:
                    await self._connect()
                except RouteError as exc:
                    self._failure = exc
            if self._failure is not None:
                return _all_failed(envelope, self._failure, self.remote)
        assert self._smtp is not None
        transaction = _Transaction(self._smtp, envelope, self.remote)
        try:
            await transaction.run()
        except CONNECTION_ERRORS as exc:
            log.info("outbound.connection_lost host=%s error=%s", self.remote, _describe(exc))
            await self._drop()
            transaction.fail_rest(f"connection to {self.remote or 'remote'} lost: "
                                  f"{_describe(exc)}")
        return transaction.results()

    async def close(self) -> None:
        """QUIT politely; close in any case."""
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit(timeout=min(self.settings.command_timeout, 10.0))
        except CONNECTION_ERRORS:
            pass
        finally:
            smtp.close()

    def abort(self) -> None:
        """Close at once without QUIT (cancelled mid-transaction: the peer may be stuck)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def _connect(self) -> None:
        """Try every address of every host in order. Raises RouteError (temporary)."""
        last = "no host to try"
        for host in self.route.hosts:
            for address in host.addresses:
                try:
                    self._smtp = await self._open(host, address, self.settings.tls)
                except RouteError:
                    raise
                except CONNECTION_ERRORS as exc:
                    last = f"{host.name}[{address}]: {_describe(exc)}"
                    log.info("outbound.connect_failed host=%s address=%s error=%s",
                             host.name, address, _describe(exc))
                    continue
                self._host = host
                self.connections += 1
                return
        raise RouteError(f"cannot reach {self.route.destination}: {last}", "4.4.1",
                         permanent=False, code=451)

    async def _open(self, host: MailHost, address: str, mode: TLSMode) -> aiosmtplib.SMTP:
        s = self.settings
        context = s.tls_context or unverified_context()
        implicit = mode is TLSMode.IMPLICIT
        # Implicit TLS checks the certificate against the name we dial: use the name.
        smtp = aiosmtplib.SMTP(
            hostname=host.name if implicit else address, port=self.route.port,
            local_hostname=s.hostname, timeout=s.command_timeout, use_tls=implicit, start_tls=False,
            validate_certs=False, tls_context=context,
        )
        await smtp.connect(timeout=s.connect_timeout)
        try:
            await _hello(smtp)
            if mode in (TLSMode.OPPORTUNISTIC, TLSMode.REQUIRED):
                if smtp.supports_extension("starttls"):
                    try:
                        await smtp.starttls(server_hostname=host.name, tls_context=context)
                    except CONNECTION_ERRORS as exc:
                        if mode is TLSMode.REQUIRED:
                            raise
                        # A broken STARTTLS must not stop mail: plain text, as before.
                        log.info("outbound.starttls_failed host=%s error=%s action=plain",
                                 host.name, _describe(exc))
                        smtp.close()
                        return await self._open(host, address, TLSMode.NONE)
                    await _hello(smtp)
                elif mode is TLSMode.REQUIRED:
                    raise aiosmtplib.SMTPNotSupported(f"{host.name} does not offer STARTTLS")
            if s.username:
                await smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        tls = smtp.get_transport_info("sslcontext") is not None
        log.info("outbound.connected host=%s address=%s tls=%s", host.name, address, tls)
        return smtp


async def _hello(smtp: aiosmtplib.SMTP) -> None:
    """EHLO, or HELO for an old server that refuses EHLO (RFC 5321 §3.2)."""
    try:
        await smtp.ehlo()
    except aiosmtplib.SMTPHeloError:
        await smtp.helo()


class _Transaction:
    """MAIL, RCPT per recipient, DATA: collects a result per recipient as it goes."""

    def __init__(self, smtp: aiosmtplib.SMTP, envelope: OutboundEnvelope, remote: str) -> None:
        self.smtp = smtp
        self.envelope = envelope
        self.remote = remote
        self._results: dict[str, AttemptResult] = {}
        self._awaiting_data: set[str] = set()  # accepted at RCPT, no DATA answer yet

    def results(self) -> list[AttemptResult]:
        return [self._results[r.address] for r in self.envelope.recipients]

    def fail_rest(self, text: str) -> None:
        """Recipients without a final answer yet get a temporary failure."""
        for r in self.envelope.recipients:
            if r.address not in self._results or r.address in self._awaiting_data:
                self._results[r.address] = temporary(r.address, text)

    def _set_all(self, addresses: Sequence[str], code: int, text: str, detail: str) -> None:
        for address in addresses:
            self._results[address] = result_for(address, code, text, self.remote, detail=detail)

    async def run(self) -> None:
        env, smtp = self.envelope, self.smtp
        everyone = [r.address for r in env.recipients]
        refusal = self._precheck()
        if refusal is not None:
            code, enhanced_text = refusal
            self._set_all(everyone, code, enhanced_text, "0.0")
            return
        reply = await smtp.execute_command(b"MAIL", *self._mail_args())
        if reply.code != 250:
            self._set_all(everyone, reply.code, reply.message, "1.0")
            await self._reset()
            return
        accepted: list[str] = []
        for recipient in env.recipients:
            reply = await smtp.execute_command(b"RCPT", *self._rcpt_args(recipient))
            if reply.code in (250, 251):
                accepted.append(recipient.address)
                self._awaiting_data.add(recipient.address)
            else:
                self._set_all([recipient.address], reply.code, reply.message, "1.0")
        if not accepted:
            await self._reset()
            return
        try:
            reply = await smtp.data(env.content)
        except aiosmtplib.SMTPDataError as exc:
            self._set_all(accepted, exc.code, exc.message, "0.0")
        else:
            self._set_all(accepted, reply.code, reply.message, "0.0")
        self._awaiting_data.clear()

    def _precheck(self) -> tuple[int, str] | None:
        """Refusals decided before MAIL: too big for the server, or SMTPUTF8 missing."""
        smtp, env = self.smtp, self.envelope
        limit = smtp.esmtp_extensions.get("size", "").strip()
        if limit.isdigit() and int(limit) > 0 and len(env.content) > int(limit):
            return 552, (f"5.3.4 message of {len(env.content)} bytes exceeds the "
                         f"{limit}-byte limit of {self.remote}")
        if needs_smtputf8(env) and not smtp.supports_extension("smtputf8"):
            # RFC 6531 §3.2: without SMTPUTF8 the message cannot be relayed as it is.
            return 553, f"5.6.7 {self.remote} does not support SMTPUTF8"
        return None

    def _mail_args(self) -> list[bytes]:
        smtp, env = self.smtp, self.envelope
        args = [b"FROM:<" + env.sender.encode("utf-8") + b">"]
        if smtp.supports_extension("size"):
            args.append(f"SIZE={len(env.content)}".encode())
        if not env.content.isascii() and smtp.supports_extension("8bitmime"):
            args.append(b"BODY=8BITMIME")
        if needs_smtputf8(env):
            args.append(b"SMTPUTF8")
        if smtp.supports_extension("dsn"):
            if env.ret:
                args.append(f"RET={env.ret.upper()}".encode())
            if env.envid:
                args.append(f"ENVID={xtext(env.envid)}".encode())
        return args

    def _rcpt_args(self, recipient: OutboundRecipient) -> list[bytes]:
        args = [b"TO:<" + recipient.address.encode("utf-8") + b">"]
        if self.smtp.supports_extension("dsn"):
            if recipient.notify:
                args.append(f"NOTIFY={recipient.notify.upper()}".encode())
            if recipient.orcpt:
                kind, _, original = recipient.orcpt.partition(";")
                args.append(f"ORCPT={kind};{xtext(original)}".encode())
        return args

    async def _reset(self) -> None:
        try:
            await self.smtp.rset()
        except aiosmtplib.SMTPResponseException:
            pass


def _all_failed(envelope: OutboundEnvelope, error: RouteError, remote: str) -> list[AttemptResult]:
    outcome = Outcome.PERMANENT if error.permanent else Outcome.TEMPORARY
    return [
        AttemptResult(r.address, outcome, error.code, error.enhanced, error.text, remote)
        for r in envelope.recipients
    ]


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
