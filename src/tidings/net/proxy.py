"""PROXY protocol v1 (text) and v2 (binary) headers, as sent by HAProxy and nginx.

The header precedes everything else on a connection from a load balancer and
names the real client. Parsers are pure; `read_proxy_header` reads just the
header's bytes so nothing of the protocol that follows is consumed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct

from tidings.net.stream import Peer

V1_PREFIX = b"PROXY "
V1_MAX_BYTES = 107  # the spec's longest v1 line, CRLF included
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_MAX_BODY = 4096  # addresses plus TLVs; real headers are far smaller
_V2_FIXED = 16  # signature, version/command, family/transport, length


class ProxyHeaderError(ValueError):
    """The connection did not start with a valid PROXY header."""


def parse_v1(line: bytes) -> Peer | None:
    """The client named by a v1 line (CRLF included); None for `PROXY UNKNOWN`.

    Raises ProxyHeaderError.
    """
    if len(line) > V1_MAX_BYTES or not line.startswith(V1_PREFIX) or not line.endswith(b"\r\n"):
        raise ProxyHeaderError("malformed PROXY v1 line")
    parts = line[:-2].decode("ascii", "replace").split(" ")
    if len(parts) >= 2 and parts[1] == "UNKNOWN":
        return None
    if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError("PROXY v1 line needs TCP4|TCP6 SRC DST SPORT DPORT")
    _, family, src, _dst, sport, _dport = parts
    try:
        address = ipaddress.ip_address(src)
        port = int(sport)
    except ValueError:
        raise ProxyHeaderError("bad address or port in PROXY v1 line") from None
    if (family == "TCP4") != (address.version == 4) or not 0 <= port <= 65535:
        raise ProxyHeaderError("address family and address disagree in PROXY v1 line")
    if not sport.isdigit() or (len(sport) > 1 and sport.startswith("0")):
        raise ProxyHeaderError("bad port in PROXY v1 line")
    return Peer(str(address), port)


def v2_body_length(fixed: bytes) -> int:
    """The length of the address block announced by the 16 fixed bytes of v2."""
    if len(fixed) != _V2_FIXED or not fixed.startswith(V2_SIGNATURE):
        raise ProxyHeaderError("missing PROXY v2 signature")
    if fixed[12] >> 4 != 2:
        raise ProxyHeaderError("unsupported PROXY protocol version")
    (length,) = struct.unpack("!H", fixed[14:16])
    if length > V2_MAX_BODY:
        raise ProxyHeaderError("PROXY v2 header too long")
    return int(length)


def parse_v2(fixed: bytes, body: bytes) -> Peer | None:
    """The client named by a v2 header; None for LOCAL (health checks) or non-IP."""
    if len(body) != v2_body_length(fixed):
        raise ProxyHeaderError("truncated PROXY v2 header")
    command = fixed[12] & 0x0F
    if command == 0x0:  # LOCAL: the proxy's own connection; keep the socket's address
        return None
    if command != 0x1:
        raise ProxyHeaderError("unknown PROXY v2 command")
    family, transport = fixed[13] >> 4, fixed[13] & 0x0F
    if transport not in (0x0, 0x1):  # UNSPEC or STREAM; DGRAM makes no sense on TCP
        raise ProxyHeaderError("PROXY v2 transport is not a stream")
    if family == 0x1:
        if len(body) < 12:
            raise ProxyHeaderError("short PROXY v2 IPv4 block")
        src4 = ipaddress.IPv4Address(body[0:4])
        (port,) = struct.unpack("!H", body[8:10])
        return Peer(str(src4), int(port))
    if family == 0x2:
        if len(body) < 36:
            raise ProxyHeaderError("short PROXY v2 IPv6 block")
        src6 = ipaddress.IPv6Address(body[0:16])
        (port,) = struct.unpack("!H", body[32:34])
        return Peer(str(src6), int(port))
    return None  # UNSPEC or UNIX: nothing we can use as a peer address


async def read_proxy_header(reader: asyncio.StreamReader) -> Peer | None:
    """Read exactly one v1 or v2 header from the reader. Raises ProxyHeaderError."""
    try:
        start = await reader.readexactly(len(V1_PREFIX))
        if start == V1_PREFIX:
            rest = await reader.readuntil(b"\r\n")
            return parse_v1(start + rest)
        if start == V2_SIGNATURE[: len(start)]:
            fixed = start + await reader.readexactly(_V2_FIXED - len(start))
            body = await reader.readexactly(v2_body_length(fixed))
            return parse_v2(fixed, body)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        raise ProxyHeaderError("connection ended inside the PROXY header") from None
    raise ProxyHeaderError("connection did not start with a PROXY header")
