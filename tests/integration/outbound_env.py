"""Loopback stand-ins for the Internet in outbound tests: a DNS server (dnslib wire
format over asyncio UDP/TCP) publishing MX/A records for test domains, and a tiny
SMTP receiver playing the remote host, scripted per test (replies, delays, TLS)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from dnslib import AAAA, MX, QTYPE, RCODE, RR, A, DNSRecord  # type: ignore[import-untyped]


class FakeDNS(asyncio.DatagramProtocol):
    """Answers from `records`: {(name, "MX"|"A"|"AAAA"): [values]}; MX values are
    (preference, exchange). Unknown names get NXDOMAIN; names in `servfail` SERVFAIL."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[object]] = {}
        self.servfail: set[str] = set()
        self.queries: list[tuple[str, str]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    def add(self, name: str, kind: str, *values: object) -> None:
        self.records.setdefault((name.lower(), kind), []).extend(values)

    async def start(self) -> FakeDNS:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.answer(data), addr)

    def answer(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        self.queries.append((name, kind))
        reply = request.reply()
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return bytes(reply.pack())
        if not any(key[0] == name for key in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
            return bytes(reply.pack())
        for value in self.records.get((name, kind), []):
            if kind == "MX":
                preference, exchange = cast(tuple[int, str], value)
                rdata: object = MX(exchange, preference)
            elif kind == "A":
                rdata = A(value)
            else:
                rdata = AAAA(value)
            reply.add_answer(RR(name, getattr(QTYPE, kind), rdata=rdata, ttl=60))
        return bytes(reply.pack())


@dataclass
class Received:
    sender: str
    mail_params: list[str]
    recipients: list[str]
    data: bytes
    tls: bool


RcptReply = Callable[[str], tuple[int, str]]


@dataclass
class FakeRemote:
    """A scripted SMTP receiver. `rcpt_reply(address)` decides each RCPT; `data_reply`
    answers the end of data; `data_delay` holds that answer back (a slow remote)."""

    hostname: str = "mx.remote.test"
    rcpt_reply: RcptReply = lambda address: (250, "2.1.5 OK")
    data_reply: tuple[int, str] = (250, "2.0.0 queued")
    data_delay: float = 0.0
    greeting: tuple[int, str] = (220, "mx.remote.test ESMTP fake")
    max_size: int = 10_000_000
    tls: ssl.SSLContext | None = None
    extensions: tuple[str, ...] = ("8BITMIME", "SMTPUTF8", "DSN", "ENHANCEDSTATUSCODES")
    auth: tuple[str, str] | None = None  # (user, password) required for AUTH PLAIN
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    commands: list[str] = field(default_factory=list)
    data_started: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> FakeRemote:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        state = _State()
        try:
            await self._reply(writer, *self.greeting)
            if self.greeting[0] != 220:
                return
            while line := await reader.readline():
                if not await self._command(line.decode("utf-8", "replace").rstrip("\r\n"),
                                           reader, writer, state):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, code: int, text: str) -> None:
        writer.write(f"{code} {text}\r\n".encode())
        await writer.drain()

    async def _command(self, line: str, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, state: _State) -> bool:
        self.commands.append(line)
        verb = line.split(" ", 1)[0].upper()
        arg = line[len(verb):].strip()
        if verb == "EHLO":
            lines = [self.hostname, f"SIZE {self.max_size}", *self.extensions]
            if self.tls is not None and not state.tls:
                lines.append("STARTTLS")
            if self.auth is not None:
                lines.append("AUTH PLAIN")
            text = "".join(f"250-{x}\r\n" for x in lines[:-1]) + f"250 {lines[-1]}\r\n"
            writer.write(text.encode())
            await writer.drain()
        elif verb == "HELO" or verb == "NOOP":
            await self._reply(writer, 250, "OK")
        elif verb == "STARTTLS" and self.tls is not None:
            await self._reply(writer, 220, "2.0.0 go ahead")
            await writer.start_tls(self.tls)
            state.tls = True
        elif verb == "AUTH" and self.auth is not None:
            mechanism, _, initial = arg.partition(" ")
            user, password = self.auth
            expected = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            ok = mechanism.upper() == "PLAIN" and initial == expected
            await self._reply(writer, *((235, "2.7.0 OK") if ok else (535, "5.7.8 bad")))
            state.authenticated = ok
        elif verb == "MAIL":
            if self.auth is not None and not state.authenticated:
                await self._reply(writer, 530, "5.7.0 authentication required")
                return True
            address, _, params = arg[5:].partition(">")
            state.sender, state.params, state.recipients = address.lstrip("<"), params.split(), []
            await self._reply(writer, 250, "2.1.0 OK")
        elif verb == "RCPT":
            address = arg[3:].partition(">")[0].lstrip("<")
            code, text = self.rcpt_reply(address)
            if code < 300:
                state.recipients.append(address)
            await self._reply(writer, code, text)
        elif verb == "DATA":
            await self._data(reader, writer, state)
        elif verb == "RSET":
            state.recipients = []
            await self._reply(writer, 250, "2.0.0 OK")
        elif verb == "QUIT":
            await self._reply(writer, 221, "2.0.0 bye")
            return False
        else:
            await self._reply(writer, 502, "5.5.1 not implemented")
        return True

    async def _data(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    state: _State) -> None:
        await self._reply(writer, 354, "go ahead")
        lines: list[bytes] = []
        while (line := await reader.readline()) != b".\r\n":
            if not line:
                raise ConnectionError("closed in DATA")
            lines.append(line[1:] if line.startswith(b".") else line)
        # Kept before the (slow) reply, like a real server that committed and then
        # lost the connection: the sender cannot know, so it must send again.
        if self.data_reply[0] == 250:
            self.messages.append(Received(state.sender, state.params, list(state.recipients),
                                          b"".join(lines), state.tls))
        self.data_started.set()
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        await self._reply(writer, *self.data_reply)


@dataclass
class _State:
    tls: bool = False
    authenticated: bool = False
    sender: str = ""
    params: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)


def unused_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
