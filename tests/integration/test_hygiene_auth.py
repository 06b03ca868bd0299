"""Sender authentication on the MX, end to end: a real smtplib session, SPF/DKIM/DMARC
records served by dnslib on loopback, DMARC reject -> 550, quarantine -> Junk."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.hygiene_env import HygieneEnv, hygiene_env
from tests.integration.smtp_env import HOSTNAME
from tests.unit.hygiene.dns_fake import Zone
from tests.unit.hygiene.keys import arc_sealed, dkim_key, message, publish, signed

BOB = "bob@example.test"


def zone() -> Zone:
    z = Zone()
    for domain in ("reject.test", "quar.test", "good.test", "relay.test"):
        z.add(domain, "TXT", "v=spf1 ip4:127.0.0.1 -all")
    z.add("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject")
    z.add("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine")
    z.add("_dmarc.good.test", "TXT", "v=DMARC1; p=reject")
    z.add("forged.test", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    publish(z, dkim_key("good.test"))
    publish(z, dkim_key("list.test"))
    return z


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[HygieneEnv]:
    async for e in hygiene_env(tmp_path, zone(), auth_checks=True):
        yield e


async def _send(env: HygieneEnv, sender: str, raw: bytes) -> None:
    await asyncio.to_thread(env.send, sender, [BOB], raw)


def _results(raw: bytes) -> str:
    """The one Authentication-Results field under our authserv-id."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    fields = [f for f in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
              if f.lower().startswith(f"authentication-results: {HOSTNAME};")]
    assert len(fields) == 1, fields
    return fields[0]


async def test_dmarc_reject_gives_550_at_data_time(env: HygieneEnv) -> None:
    # SPF passes for relay.test, but nothing aligns with the From domain reject.test.
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await _send(env, "bounce@relay.test", message("reject.test"))
    assert refused.value.smtp_code == 550
    assert b"5.7.1" in refused.value.smtp_error and b"DMARC" in refused.value.smtp_error
    assert await env.messages("bob") == []


async def test_dmarc_quarantine_files_the_message_into_junk(env: HygieneEnv) -> None:
    await _send(env, "bounce@relay.test", message("quar.test", subject="Quarantine me"))
    assert await env.messages("bob") == []
    [junk] = await env.messages("bob", "Junk")
    assert b"Quarantine me" in junk
    assert "dmarc=fail" in _results(junk)


async def test_aligned_mail_passes_with_one_authentication_results_field(
    env: HygieneEnv,
) -> None:
    raw = signed(message("good.test"), dkim_key("good.test"))
    await _send(env, "alice@good.test", raw)
    [stored] = await env.messages("bob")
    results = _results(stored)
    assert results.startswith(f"Authentication-Results: {HOSTNAME};")
    assert "spf=pass smtp.mailfrom=good.test" in results
    assert "dkim=pass header.d=good.test header.s=s1" in results
    assert "dmarc=pass" in results


async def test_a_broken_dkim_signature_still_passes_dmarc_through_spf(env: HygieneEnv) -> None:
    raw = signed(message("good.test"), dkim_key("good.test")).replace(b"Hi there", b"Hi THERE")
    await _send(env, "alice@good.test", raw)
    [stored] = await env.messages("bob")
    assert "dkim=fail" in _results(stored)
    assert "dmarc=pass" in _results(stored)


async def test_spf_fail_is_recorded_for_a_domain_without_dmarc(env: HygieneEnv) -> None:
    await _send(env, "someone@forged.test", message("forged.test"))
    [stored] = await env.messages("bob")
    assert "spf=fail smtp.mailfrom=forged.test" in _results(stored)
    assert "dkim=none" in _results(stored)


async def test_forged_results_claiming_our_authserv_id_are_removed(env: HygieneEnv) -> None:
    forged = (f"Authentication-Results: {HOSTNAME}; spf=pass; dkim=pass; dmarc=pass\r\n"
              "Authentication-Results: other.example; spf=pass\r\n").encode()
    await _send(env, "someone@forged.test", forged + message("forged.test"))
    [stored] = await env.messages("bob")
    assert "spf=fail" in _results(stored)  # only ours is left under our authserv-id
    assert b"Authentication-Results: other.example; spf=pass" in stored


async def test_an_arc_sealed_forward_is_reported_as_arc_pass(env: HygieneEnv) -> None:
    raw = arc_sealed(message("forged.test"), "list.test")
    await _send(env, "someone@forged.test", raw)
    [stored] = await env.messages("bob")
    assert "arc=pass" in _results(stored)


async def test_a_modified_arc_sealed_message_is_reported_as_arc_fail(env: HygieneEnv) -> None:
    raw = arc_sealed(message("forged.test"), "list.test").replace(b"Hi there", b"Hi THERE")
    await _send(env, "someone@forged.test", raw)
    [stored] = await env.messages("bob")
    assert "arc=fail" in _results(stored)
