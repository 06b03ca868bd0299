"""Antivirus and blocked attachments: a clamd client (INSTREAM over a unix or TCP
socket, chunked, size-limited) and the delivery stage that rejects (554 5.7.1) or
quarantines infected mail and blocked attachment types; clamd being down is logged
and handled by the configured fail-open / fail-closed choice."""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass

from tidings.delivery.stages import Accept, Reject, StageInput, TempFail, Verdict
from tidings.hygiene.attachments import AttachmentFinding, attachment_findings
from tidings.hygiene.context import context_for
from tidings.hygiene.quarantine import Quarantine
from tidings.hygiene.spam.facts import ANALYSE_IN_THREAD_BYTES, MessageFacts, analyse
from tidings.hygiene.spam.settings import AntivirusSettings

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 4096
BLOCKING_KINDS = frozenset({"executable", "double_extension", "zip_executable", "zip_bomb"})


class ClamdError(Exception):
    """clamd could not be reached or answered something we do not understand."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    infected: bool
    signature: str = ""  # e.g. "Eicar-Test-Signature"


def parse_address(address: str) -> tuple[str, str | int]:
    """("unix", path) or ("tcp", "host:port") from the [antivirus] clamd setting."""
    if address.startswith("unix:"):
        return "unix", address[5:]
    if address.startswith("/"):
        return "unix", address
    text = address.removeprefix("tcp:")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"bad clamd address {address!r}")
    return "tcp", f"{host.strip('[]')}:{port}"


def parse_reply(reply: bytes) -> ScanResult:
    """clamd's INSTREAM answer: "stream: OK", "stream: NAME FOUND" or "... ERROR"."""
    text = reply.rstrip(b"\0\r\n").decode("utf-8", "replace")
    _, _, verdict = text.partition(": ")
    if verdict == "OK":
        return ScanResult(False)
    if verdict.endswith(" FOUND"):
        return ScanResult(True, verdict[: -len(" FOUND")])
    raise ClamdError(f"clamd said {text[:200]!r}")


class ClamdClient:
    """One connection per scan (clamd's own advice for INSTREAM)."""

    def __init__(self, address: str, *, timeout: float = 30.0, chunk_bytes: int = 64 * 1024,
                 max_bytes: int = 25 * 1024 * 1024) -> None:
        self.kind, self.target = parse_address(address)
        self.timeout = timeout
        self.chunk_bytes = chunk_bytes
        self.max_bytes = max_bytes

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.kind == "unix":
            return await asyncio.open_unix_connection(str(self.target))
        host, _, port = str(self.target).rpartition(":")
        return await asyncio.open_connection(host, int(port))

    async def _exchange(self, command: bytes, payload: bytes | None) -> bytes:
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await self._open()
                try:
                    writer.write(b"z" + command + b"\0")
                    if payload is not None:
                        for start in range(0, len(payload), self.chunk_bytes):
                            chunk = payload[start : start + self.chunk_bytes]
                            writer.write(struct.pack(">I", len(chunk)) + chunk)
                            await writer.drain()
                        writer.write(struct.pack(">I", 0))
                    await writer.drain()
                    reply = await reader.readuntil(b"\0")
                finally:
                    writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as exc:
            raise ClamdError(f"{type(exc).__name__}: {exc}") from exc
        return reply[:MAX_REPLY_BYTES]

    async def ping(self) -> bool:
        try:
            return (await self._exchange(b"PING", None)).rstrip(b"\0") == b"PONG"
        except ClamdError:
            return False

    async def scan(self, data: bytes) -> ScanResult:
        """Scan bytes with INSTREAM. Raises ClamdError (down, timeout, size limit)."""
        if len(data) > self.max_bytes:
            raise ClamdError(f"message of {len(data)} bytes is over max_scan_bytes")
        return parse_reply(await self._exchange(b"INSTREAM", data))


def blocking_findings(facts: MessageFacts) -> list[AttachmentFinding]:
    """Attachment findings that block delivery outright (not just add to the score)."""
    found = attachment_findings((a.filename, a.data) for a in facts.attachments)
    return [f for f in found if f.kind in BLOCKING_KINDS]


class AntivirusStage:
    """Blocked attachment types, then clamd when configured."""

    name = "antivirus"

    def __init__(self, settings: AntivirusSettings, quarantine: Quarantine | None,
                 client: ClamdClient | None = None) -> None:
        self.settings = settings
        self.quarantine = quarantine
        self.client = client
        if client is None and settings.clamd:
            self.client = ClamdClient(settings.clamd, timeout=settings.timeout_seconds,
                                      chunk_bytes=settings.chunk_bytes,
                                      max_bytes=settings.max_scan_bytes)

    async def evaluate(self, message: StageInput) -> Verdict:
        if message.submitted_by is not None:
            return Accept()
        if self.settings.blocked_attachments != "off":
            context = context_for(message)
            if context.facts is None:
                # A thread hop costs more than analysing a typical message inline.
                raw = message.raw
                context.facts = (await asyncio.to_thread(analyse, raw)
                                 if len(raw) >= ANALYSE_IN_THREAD_BYTES else analyse(raw))
            findings = blocking_findings(context.facts)
            if findings:
                what = f"{findings[0].kind.replace('_', ' ')}: {findings[0].filename}"
                log.info("hygiene.attachment_blocked kind=%s", findings[0].kind)
                return await self._refuse(message, self.settings.blocked_attachments,
                                          "attachment", f"Blocked attachment type ({what})", 550)
        if self.client is None:
            return Accept()
        try:
            result = await self.client.scan(message.raw)
        except ClamdError as exc:
            log.warning("hygiene.clamd_unavailable address=%s error=%s on_error=%s",
                        self.settings.clamd, exc, self.settings.on_error)
            if self.settings.on_error == "tempfail":
                return TempFail("Virus scanner unavailable; please try again later", "4.7.0")
            return Accept()
        if not result.infected:
            return Accept()
        context_for(message).virus = result.signature
        log.info("hygiene.virus_found signature=%s", result.signature)
        return await self._refuse(message, self.settings.action, "virus",
                                  f"Message contains a virus ({result.signature})", 554)

    async def _refuse(self, message: StageInput, action: str, reason: str,
                      text: str, code: int) -> Verdict:
        if action == "quarantine" and self.quarantine is not None:
            return await self.quarantine.hold(
                message, reason, score=None, report=text,
                fields=(("X-Tidings-Quarantine-Reason", text),))
        return Reject(code, "5.7.1", text)
