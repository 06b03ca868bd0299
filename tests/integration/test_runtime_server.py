"""The composition root in-process: protocol registration, health, metrics, drain."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from tidings.context import ServerContext
from tidings.net.listener import Endpoint, Handler, RefuseReason
from tidings.net.stream import Stream
from tidings.server import StartupError, loopback_settings, running


async def greet(stream: Stream) -> None:
    await stream.send(b"* OK fake ready\r\n")
    while data := await stream.receive():
        await stream.send(data)


async def busy(stream: Stream, reason: RefuseReason) -> None:
    await stream.send(b"* BYE busy\r\n")


def fake_protocol(ctx: ServerContext) -> Mapping[str, Handler]:
    assert ctx.hostname in ("localhost", "mail.example.org")
    assert ctx.authenticator is not None
    return {"imap": Endpoint(greet, busy), "imaps": greet}


async def test_registered_handlers_serve_their_listeners_and_web_answers(tmp_path: Path) -> None:
    settings = loopback_settings(tmp_path, "imap", "imaps", "pop3", "http")
    async with running(settings, protocols=(fake_protocol,)) as server:
        assert "pop3" not in server.addresses  # enabled, but no protocol registered it
        host, port = server.addresses["imap"]
        reader, writer = await asyncio.open_connection(host, port)
        assert await reader.readline() == b"* OK fake ready\r\n"

        web_host, web_port = server.addresses["http"]
        async with httpx.AsyncClient(base_url=f"http://{web_host}:{web_port}") as client:
            health = await client.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            text = (await client.get("/metrics")).text
        assert 'tidings_connections_active{listener="imap"} 1.0' in text
        assert 'tidings_sessions_active{listener="imaps"} 0.0' in text
        writer.close()


async def test_stopping_drains_sessions_and_closes_listeners(tmp_path: Path) -> None:
    settings = loopback_settings(tmp_path, "imap")
    async with running(settings, protocols=(fake_protocol,)) as server:
        host, port = server.addresses["imap"]
        reader, writer = await asyncio.open_connection(host, port)
        await reader.readline()
        writer.close()  # the session ends, so the drain does not wait for it
        server.stop()
        assert server.ctx.stopping.is_set()
    with pytest.raises(OSError):
        await asyncio.open_connection(host, port)


async def test_two_protocols_claiming_one_listener_is_a_startup_error(tmp_path: Path) -> None:
    settings = loopback_settings(tmp_path, "imap")
    with pytest.raises(StartupError, match="imap is claimed by two"):
        async with running(settings, protocols=(fake_protocol, fake_protocol)):
            pass


async def test_a_missing_certificate_is_generated_at_startup(tmp_path: Path) -> None:
    settings = loopback_settings(tmp_path, "imaps", hostname="mail.example.org")
    assert not settings.tls.cert.exists()
    async with running(settings, protocols=(fake_protocol,)):
        assert settings.tls.cert.exists()
