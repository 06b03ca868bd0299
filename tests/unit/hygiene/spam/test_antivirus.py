"""The clamd client and the antivirus stage against a fake clamd on loopback."""

from __future__ import annotations

import logging
import socket

import pytest

from tidings.delivery.stages import Accept, Reject, StageInput, TempFail
from tidings.hygiene.antivirus import (
    AntivirusStage,
    ClamdClient,
    ClamdError,
    parse_address,
    parse_reply,
)
from tidings.hygiene.spam.settings import AntivirusSettings

from .fake_clamd import EICAR, fake_clamd
from .messages import plain, with_attachment, zip_of


def stage_input(raw: bytes) -> StageInput:
    return StageInput("carol@example.test", (), raw, None, "192.0.2.1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_addresses_and_replies_parse() -> None:
    assert parse_address("unix:/run/clamd.ctl") == ("unix", "/run/clamd.ctl")
    assert parse_address("/run/clamd.ctl") == ("unix", "/run/clamd.ctl")
    assert parse_address("tcp:127.0.0.1:3310") == ("tcp", "127.0.0.1:3310")
    assert parse_reply(b"stream: OK\0").infected is False
    assert parse_reply(b"stream: Win.Test.EICAR_HDB-1 FOUND\0").signature == (
        "Win.Test.EICAR_HDB-1")
    with pytest.raises(ClamdError):
        parse_reply(b"INSTREAM size limit exceeded. ERROR\0")


async def test_eicar_is_found_and_clean_data_passes_in_chunks() -> None:
    async with fake_clamd() as fake:
        client = ClamdClient(f"tcp:127.0.0.1:{fake.port}", chunk_bytes=1000)
        assert await client.ping()
        assert (await client.scan(b"x" * 2500)).infected is False
        assert fake.chunks == [1000, 1000, 500]
        result = await client.scan(b"prefix " + EICAR + b" suffix")
        assert result.infected and result.signature == "Eicar-Test-Signature"


async def test_data_over_the_limit_is_not_sent() -> None:
    client = ClamdClient(f"tcp:127.0.0.1:{free_port()}", max_bytes=100)
    with pytest.raises(ClamdError, match="max_scan_bytes"):
        await client.scan(b"x" * 101)


async def test_an_infected_message_is_rejected_with_the_signature() -> None:
    async with fake_clamd() as fake:
        stage = AntivirusStage(AntivirusSettings(clamd=f"tcp:127.0.0.1:{fake.port}"), None)
        verdict = await stage.evaluate(stage_input(plain(body=EICAR.decode() + "\r\n")))
        assert isinstance(verdict, Reject)
        assert (verdict.code, verdict.enhanced) == (554, "5.7.1")
        assert "Eicar-Test-Signature" in verdict.text
        assert isinstance(await stage.evaluate(stage_input(plain())), Accept)


async def test_clamd_down_fails_open_or_closed_by_policy_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = f"tcp:127.0.0.1:{free_port()}"
    caplog.set_level(logging.WARNING, "tidings.hygiene.antivirus")
    open_stage = AntivirusStage(AntivirusSettings(clamd=address, timeout_seconds=2), None)
    assert isinstance(await open_stage.evaluate(stage_input(plain())), Accept)
    assert "hygiene.clamd_unavailable" in caplog.text and "on_error=accept" in caplog.text
    closed = AntivirusStage(
        AntivirusSettings(clamd=address, on_error="tempfail", timeout_seconds=2), None)
    assert isinstance(await closed.evaluate(stage_input(plain())), TempFail)


async def test_a_blocked_attachment_in_a_zip_is_rejected_without_clamd() -> None:
    stage = AntivirusStage(AntivirusSettings(blocked_attachments="reject"), None)
    raw = with_attachment("invoice.zip", zip_of({"invoice.pdf.exe": b"MZ"}))
    verdict = await stage.evaluate(stage_input(raw))
    assert isinstance(verdict, Reject) and "invoice.zip/invoice.pdf.exe" in verdict.text
    assert isinstance(await stage.evaluate(stage_input(plain())), Accept)
