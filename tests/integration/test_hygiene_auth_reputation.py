"""Reputation and throttling at RCPT time on a real MX session: a DNSBL listing refused
with 554 5.7.1 naming the zone, greylisting 451 then acceptance, per-IP rate limits."""

from __future__ import annotations

import asyncio
import smtplib
from pathlib import Path

import pytest

from tests.integration.hygiene_env import HygieneEnv, hygiene_env
from tests.unit.hygiene.dns_fake import DNSServer, Zone
from tests.unit.hygiene.keys import message
from tidings.config import LISTENER_NAMES, ListenAddress, load_settings
from tidings.model.directory import PrincipalKind
from tidings.server import running

BOB = "bob@example.test"


async def _send(env: HygieneEnv, sender: str = "a@remote.test") -> None:
    await asyncio.to_thread(env.send, sender, [BOB], message("remote.test"))


async def test_a_client_listed_by_a_dnsbl_is_refused_naming_the_zone(tmp_path: Path) -> None:
    zone = Zone().add("1.0.0.127.bl.test", "A", "127.0.0.2")
    async for env in hygiene_env(tmp_path, zone, dnsbl_zones=("clean.test", "bl.test")):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await _send(env)
        code, text = refused.value.recipients[BOB]
        assert code == 554
        assert b"5.7.1" in text and b"bl.test" in text
        assert await env.messages("bob") == []


async def test_a_dnswl_listing_outweighs_a_dnsbl_listing(tmp_path: Path) -> None:
    zone = Zone().add("1.0.0.127.bl.test", "A", "127.0.0.2")
    zone.add("1.0.0.127.wl.test", "A", "127.0.10.1")
    async for env in hygiene_env(tmp_path, zone, dnsbl_zones=("bl.test",),
                                 dnswl_zones=("wl.test",)):
        await _send(env)
        assert len(await env.messages("bob")) == 1


async def test_an_unlisted_client_is_accepted(tmp_path: Path) -> None:
    async for env in hygiene_env(tmp_path, Zone(), dnsbl_zones=("bl.test",)):
        await _send(env)
        assert len(await env.messages("bob")) == 1


async def test_greylisting_tempfails_first_then_accepts_the_retry(tmp_path: Path) -> None:
    async for env in hygiene_env(tmp_path, Zone(), greylisting=True,
                                 greylist_delay_seconds=0.0):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await _send(env)
        code, text = refused.value.recipients[BOB]
        assert (code, text[:5]) == (451, b"4.7.1")
        await _send(env)  # the retry, after the (zero) delay
        assert len(await env.messages("bob")) == 1
        # Another sender is a new triplet: greylisted again.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await _send(env, "other@remote.test")


async def test_greylisting_keeps_refusing_before_the_delay(tmp_path: Path) -> None:
    async for env in hygiene_env(tmp_path, Zone(), greylisting=True,
                                 greylist_delay_seconds=300.0):
        for _ in range(2):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                await _send(env)
            assert refused.value.recipients[BOB][0] == 451
        assert await env.messages("bob") == []


async def test_the_per_ip_rate_limit_tempfails_the_next_transaction(tmp_path: Path) -> None:
    async for env in hygiene_env(tmp_path, Zone(), max_messages_per_ip_per_minute=2.0):
        await _send(env)
        await _send(env)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await _send(env)
        code, text = refused.value.recipients[BOB]
        assert (code, text[:5]) == (451, b"4.7.1")
        assert len(await env.messages("bob")) == 2


async def test_the_composition_root_wires_hygiene_from_the_config_file(tmp_path: Path) -> None:
    dns = await DNSServer(Zone().add("1.0.0.127.bl.test", "A", "127.0.0.2")).start()
    config = tmp_path / "tidings.toml"
    config.write_text(
        '[server]\nhostname = "mx.example.test"\n[database]\ndurability = "off"\n'
        f'[hygiene]\nresolver = "127.0.0.1:{dns.port}"\ndnsbl_zones = ["bl.test"]\n'
    )
    only_smtp = {name: ListenAddress("127.0.0.1", 0) if name == "smtp" else None
                 for name in LISTENER_NAMES}
    settings = load_settings(config).with_listeners(only_smtp)
    try:
        async with running(settings) as server:
            directory = server.ctx.store.directory
            await directory.create_domain("example.test")
            await directory.create_principal(PrincipalKind.USER, "bob@example.test")
            port = server.addresses["smtp"][1]

            def send() -> None:
                with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
                    client.sendmail("a@remote.test", [BOB], message("remote.test"))

            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                await asyncio.to_thread(send)
            assert refused.value.recipients[BOB][0] == 554
    finally:
        dns.close()
