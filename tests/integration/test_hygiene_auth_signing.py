"""Outbound DKIM signing end to end: the queue delivers to a fake remote MX on loopback
and what arrives verifies with dkimpy against the record `tidings dkim` printed."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import dkim  # type: ignore[import-untyped]
import pytest

from tests.integration.outbound_fixture import OutboundWorld, message, outbound_world
from tidings.delivery.outbound import build_scheduler
from tidings.hygiene.dkim_keys import Algorithm, DKIMKeyStore
from tidings.hygiene.outbound import outbound_stages
from tidings.hygiene.settings import HygieneSettings


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[OutboundWorld]:
    async for w in outbound_world(tmp_path):
        yield w


@pytest.mark.parametrize("algorithm", list(Algorithm))
async def test_queued_mail_leaves_signed_and_verifies_with_dkimpy(
    world: OutboundWorld, tmp_path: Path, algorithm: Algorithm
) -> None:
    keys = DKIMKeyStore(tmp_path / "keys")
    key = keys.generate("local.test", algorithm, "sel")
    settings = dataclasses.replace(world.settings, hygiene=HygieneSettings(dkim_dir=keys.directory))
    scheduler = build_scheduler(settings, world.store, clock=world.clock,
                                stages=outbound_stages(settings))
    await world.enqueue(["bob@remote.test"], message("Signed"))
    report = await scheduler.run_once()
    assert report.delivered == 1
    [got] = world.remote.messages
    assert got.data.startswith(b"DKIM-Signature:")
    published = {f"{key.dns_name()}.".encode(): key.txt_record().encode()}
    assert dkim.verify(got.data, dnsfunc=lambda name, timeout=5: published.get(name))


async def test_signing_can_be_turned_off(world: OutboundWorld, tmp_path: Path) -> None:
    settings = dataclasses.replace(world.settings, hygiene=HygieneSettings(dkim_signing=False))
    assert outbound_stages(settings) == ()
