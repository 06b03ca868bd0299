"""PROXY protocol v1/v2 headers: parsing, and listeners that adopt the real client."""

from __future__ import annotations

import asyncio
import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.net.listener import Endpoint, Listener, ListenerConfig
from tidings.net.proxy import V2_SIGNATURE, ProxyHeaderError, parse_v1, parse_v2, read_proxy_header
from tidings.net.stream import Peer, Stream


def v2(command: int, family: int, body: bytes) -> bytes:
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


def v2_ipv4(src: str, sport: int) -> bytes:
    body = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address("10.0.0.1").packed
    return v2(0x1, 0x11, body + struct.pack("!HH", sport, 25))


def test_v1_tcp4_and_tcp6_lines_name_the_client() -> None:
    assert parse_v1(b"PROXY TCP4 192.0.2.7 10.0.0.1 40000 25\r\n") == Peer("192.0.2.7", 40000)
    line = b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 143\r\n"
    assert parse_v1(line) == Peer("2001:db8::7", 40000)
    assert parse_v1(b"PROXY UNKNOWN\r\n") is None


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 192.0.2.7 10.0.0.1 40000\r\n",
        b"PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n",
        b"PROXY TCP4 192.0.2.7 10.0.0.1 99999 25\r\n",
        b"PROXY TCP4 192.0.2.7 10.0.0.1 040 25\r\n",
        b"PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n",
        b"PROXY TCP4 192.0.2.7 10.0.0.1 1 2\n",
        b"PROXY TCP4 " + b"1" * 120 + b"\r\n",
    ],
)
def test_bad_v1_lines_are_rejected(line: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        parse_v1(line)


def test_v2_ipv4_ipv6_and_local_headers() -> None:
    header = v2_ipv4("198.51.100.9", 5555)
    assert parse_v2(header[:16], header[16:]) == Peer("198.51.100.9", 5555)
    src6 = ipaddress.IPv6Address("2001:db8::9").packed
    body6 = src6 + src6 + struct.pack("!HH", 6000, 993) + b"\x04\x00\x01X"  # with a TLV
    h6 = v2(0x1, 0x21, body6)
    assert parse_v2(h6[:16], h6[16:]) == Peer("2001:db8::9", 6000)
    local = v2(0x0, 0x00, b"")
    assert parse_v2(local[:16], local[16:]) is None


@given(st.binary(max_size=64))
def test_any_v2_body_parses_or_raises_proxy_header_error(body: bytes) -> None:
    for family in (0x11, 0x21, 0x12, 0x31):
        header = v2(0x1, family, body)
        try:
            parse_v2(header[:16], header[16:])
        except ProxyHeaderError:
            pass


async def test_reading_the_header_leaves_the_protocol_bytes_in_place() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(v2_ipv4("203.0.113.5", 1234) + b"EHLO x\r\n")
    assert await read_proxy_header(reader) == Peer("203.0.113.5", 1234)
    assert await reader.readline() == b"EHLO x\r\n"


async def test_a_connection_without_a_header_is_rejected() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"EHLO client.example\r\n")
    with pytest.raises(ProxyHeaderError):
        await read_proxy_header(reader)


async def test_a_proxied_listener_reports_the_real_client_to_the_handler() -> None:
    peers: list[Peer] = []

    async def handler(stream: Stream) -> None:
        peers.append(stream.peer)
        await stream.send(b"220 hi\r\n")

    trusted = (ipaddress.ip_network("127.0.0.0/8"),)
    config = ListenerConfig(
        name="smtp", host="127.0.0.1", port=0, endpoint=Endpoint(handler), proxy_trusted=trusted
    )
    listener = Listener(config)
    await listener.start()
    host, port = listener.bound[0]
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"PROXY TCP4 192.0.2.44 10.0.0.1 31337 25\r\n")
        assert await reader.readline() == b"220 hi\r\n"
        writer.close()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"EHLO no-header\r\n")
        assert await reader.read() == b""
        writer.close()
    finally:
        await listener.drain(1.0)
    assert peers == [Peer("192.0.2.44", 31337)]


async def test_an_untrusted_proxy_is_refused() -> None:
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    config = ListenerConfig(
        name="smtp", host="127.0.0.1", port=0, endpoint=Endpoint(_never), proxy_trusted=trusted
    )
    listener = Listener(config)
    await listener.start()
    host, port = listener.bound[0]
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"PROXY TCP4 192.0.2.44 10.0.0.1 31337 25\r\n")
        try:
            assert await reader.read() == b""
        except ConnectionResetError:
            pass  # closed with our header unread: the kernel sends RST, also a refusal
        writer.close()
    finally:
        await listener.drain(1.0)
    assert listener.open_connections == 0
    assert HANDLED == []


HANDLED: list[Peer] = []


async def _never(stream: Stream) -> None:
    HANDLED.append(stream.peer)  # the test asserts this stays empty
