"""TCP listeners: sessions, limits, implicit TLS and draining, on loopback."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tidings.logctx import session_context
from tidings.net.listener import (
    Endpoint,
    Listener,
    ListenerConfig,
    RefuseReason,
    address_key,
)
from tidings.net.stream import Stream
from tidings.net.tls import generate_self_signed, server_context


async def echo(stream: Stream) -> None:
    await stream.send(b"hello\r\n")
    while data := await stream.receive():
        await stream.send(data)


async def busy(stream: Stream, reason: RefuseReason) -> None:
    await stream.send(f"busy {reason.value}\r\n".encode())


@asynccontextmanager
async def serving(
    handle: Callable[[Stream], Awaitable[None]], **options: object
) -> AsyncIterator[Listener]:
    config = ListenerConfig(
        name="test",
        host="127.0.0.1",
        port=0,
        endpoint=Endpoint(handle, busy),
        **options,  # type: ignore[arg-type]
    )
    listener = Listener(config)
    await listener.start()
    try:
        yield listener
    finally:
        await listener.drain(1.0)


async def connect(
    listener: Listener, tls: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = listener.bound[0]
    name = "localhost" if tls else None
    return await asyncio.open_connection(host, port, ssl=tls, server_hostname=name)


async def test_a_session_greets_and_echoes() -> None:
    async with serving(echo) as listener:
        reader, writer = await connect(listener)
        assert await reader.readline() == b"hello\r\n"
        writer.write(b"ping\r\n")
        assert await reader.readline() == b"ping\r\n"
        writer.close()
        await writer.wait_closed()


async def test_a_second_connection_from_one_address_over_the_limit_is_refused_politely() -> None:
    async with serving(echo, max_per_ip=1) as listener:
        r1, w1 = await connect(listener)
        assert await r1.readline() == b"hello\r\n"
        r2, w2 = await connect(listener)
        assert await r2.readline() == b"busy address_full\r\n"
        assert await r2.read() == b""  # then closed
        w1.close()
        w2.close()


async def test_the_listener_limit_refuses_connections_beyond_it() -> None:
    async with serving(echo, max_connections=2) as listener:
        conns = [await connect(listener) for _ in range(2)]
        for r, _ in conns:
            assert await r.readline() == b"hello\r\n"
        r3, w3 = await connect(listener)
        assert await r3.readline() == b"busy listener_full\r\n"
        for _, w in [*conns, (r3, w3)]:
            w.close()


async def test_a_closed_slot_is_reusable() -> None:
    async with serving(echo, max_per_ip=1) as listener:
        r1, w1 = await connect(listener)
        await r1.readline()
        w1.close()
        await w1.wait_closed()
        for _ in range(50):
            if listener.open_connections == 0:
                break
            await asyncio.sleep(0.01)
        r2, w2 = await connect(listener)
        assert await r2.readline() == b"hello\r\n"
        w2.close()


async def test_implicit_tls_listener_handshakes_before_the_handler(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed("localhost", cert, key)
    seen: list[bool] = []

    async def handler(stream: Stream) -> None:
        seen.append(stream.is_tls)
        await echo(stream)

    client = ssl.create_default_context(cafile=str(cert))
    async with serving(handler, ssl=server_context(cert, key)) as listener:
        reader, writer = await connect(listener, client)
        assert await reader.readline() == b"hello\r\n"
        writer.close()
    assert seen == [True]


async def test_each_session_gets_its_own_log_context() -> None:
    contexts: list[tuple[str, str]] = []

    async def handler(stream: Stream) -> None:
        ctx = session_context.get()
        assert ctx is not None
        contexts.append((ctx.session_id, ctx.protocol))
        await stream.send(b"bye\r\n")

    async with serving(handler) as listener:
        for _ in range(2):
            reader, writer = await connect(listener)
            assert await reader.readline() == b"bye\r\n"
            writer.close()
        await asyncio.sleep(0.05)
    assert [p for _, p in contexts] == ["test", "test"]
    assert contexts[0][0] != contexts[1][0]


async def test_a_crashing_handler_is_logged_and_the_listener_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def handler(stream: Stream) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        await stream.send(b"fine\r\n")

    caplog.set_level(logging.INFO, logger="tidings.net.listener")
    async with serving(handler) as listener:
        r1, w1 = await connect(listener)
        assert await r1.read() == b""
        r2, w2 = await connect(listener)
        assert await r2.readline() == b"fine\r\n"
        w1.close()
        w2.close()
    assert any(r.getMessage().startswith("session.crashed") for r in caplog.records)


async def test_drain_waits_for_short_sessions_and_cancels_stuck_ones() -> None:
    finished: list[str] = []

    async def handler(stream: Stream) -> None:
        data = await stream.receive()
        if data == b"quick":
            await asyncio.sleep(0.1)
            finished.append("quick")
        else:
            await asyncio.sleep(3600)

    config = ListenerConfig(name="t", host="127.0.0.1", port=0, endpoint=Endpoint(handler))
    listener = Listener(config)
    await listener.start()
    host, port = listener.bound[0]
    _, wq = await connect(listener)
    _, ws = await connect(listener)
    wq.write(b"quick")
    ws.write(b"stuck")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    cancelled = await listener.drain(0.5)
    assert cancelled == 1
    assert finished == ["quick"]
    assert time.monotonic() - started < 3
    assert listener.open_connections == 0
    with pytest.raises(OSError):
        await asyncio.open_connection(host, port)
    wq.close()
    ws.close()


def test_ipv6_peers_are_counted_by_their_64_prefix() -> None:
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff") == "2001:db8::/64"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"
