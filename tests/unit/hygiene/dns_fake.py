"""Loopback DNS for the hygiene tests: a zone as a dict, served over UDP by dnslib, so
the real async resolver is exercised; nothing but 127.0.0.1 is ever asked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from dnslib import (  # type: ignore[import-untyped]
    AAAA,
    MX,
    PTR,
    QTYPE,
    RCODE,
    RR,
    TXT,
    A,
    DNSRecord,
)

from tidings.hygiene.dns import DNSTempError


@dataclass
class Zone:
    """{(name, type): [values]}; MX values are "pref host"; TXT values are strings."""

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    queries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, kind: str, *values: str) -> Zone:
        self.records.setdefault((name.lower().rstrip("."), kind), []).extend(values)
        return self

    def lookup(self, name: str, kind: str) -> tuple[str, ...] | None:
        """Values, () for no data, None for NXDOMAIN."""
        name = name.lower().rstrip(".")
        self.queries.append((name, kind))
        if not any(key[0] == name for key in self.records):
            return None
        return tuple(self.records.get((name, kind), []))


class DictLookup:
    """The DNSLookup protocol straight from a Zone (fast unit tests)."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    async def query(self, name: str, rdtype: str) -> tuple[str, ...]:
        if name.lower().rstrip(".") in self.zone.servfail:
            raise DNSTempError("servfail")
        return self.zone.lookup(name, rdtype) or ()


def _txt_rdata(value: str) -> TXT:
    data = value.encode()
    # RFC 7208 §3.3: long TXT records are split in 255-octet strings.
    return TXT([data[i:i + 255] for i in range(0, len(data), 255)] or [b""])


class DNSServer(asyncio.DatagramProtocol):
    """Serves a Zone over UDP on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    async def start(self) -> DNSServer:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        self.transport = transport
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.answer(data), addr)

    def answer(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        reply = request.reply()
        if name in self.zone.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return bytes(reply.pack())
        values = self.zone.lookup(name, kind)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return bytes(reply.pack())
        for value in values:
            reply.add_answer(RR(name, getattr(QTYPE, kind), rdata=_rdata(kind, value), ttl=60))
        return bytes(reply.pack())


def _rdata(kind: str, value: str) -> object:
    if kind == "TXT":
        return _txt_rdata(value)
    if kind == "MX":
        preference, host = value.split(" ", 1)
        return MX(host, int(preference))
    if kind == "PTR":
        return PTR(value)
    if kind == "AAAA":
        return AAAA(value)
    return A(value)
