"""A tiny clamd speaking the z-prefixed INSTREAM and PING commands on loopback."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass
class FakeClamd:
    port: int = 0
    max_bytes: int = 10 * 1024 * 1024
    chunks: list[int] = field(default_factory=list)  # sizes received, for assertions
    commands: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            command = (await reader.readuntil(b"\0"))[:-1]
            self.commands.append(command)
            if command == b"zPING":
                writer.write(b"PONG\0")
            elif command == b"zINSTREAM":
                writer.write(await self._instream(reader))
            else:
                writer.write(b"UNKNOWN COMMAND\0")
            await writer.drain()
        finally:
            writer.close()

    async def _instream(self, reader: asyncio.StreamReader) -> bytes:
        data = bytearray()
        while True:
            (size,) = struct.unpack(">I", await reader.readexactly(4))
            if size == 0:
                break
            self.chunks.append(size)
            data += await reader.readexactly(size)
            if len(data) > self.max_bytes:
                return b"INSTREAM size limit exceeded. ERROR\0"
        if EICAR in data:
            return b"stream: Eicar-Test-Signature FOUND\0"
        return b"stream: OK\0"


@asynccontextmanager
async def fake_clamd(**kwargs: int) -> AsyncIterator[FakeClamd]:
    fake = FakeClamd(**kwargs)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    async with server:
        yield fake
