"""DKIM signing of outbound mail (RSA-2048, Ed25519), key files, rotation and the CLI;
every signed message is checked with dkimpy's own verifier against the published key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import dkim  # type: ignore[import-untyped]
import pytest

from tidings.cli.main import main
from tidings.delivery.outbound.stages import OutboundMessage
from tidings.hygiene.dkim_keys import Algorithm, DKIMKey, DKIMKeyStore
from tidings.hygiene.dkim_sign import DKIMSigner
from tidings.hygiene.dkim_verify import DKIMResult, verify_dkim
from tidings.hygiene.dns import Resolver
from tidings.model.errors import Conflict, NotFound
from tidings.model.ids import QueueId

from .dns_fake import DNSServer, Zone
from .keys import message


def dkimpy_verifies(raw: bytes, key: DKIMKey) -> bool:
    records = {f"{key.dns_name()}.".encode(): key.txt_record().encode()}

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        return records.get(name)

    return bool(dkim.verify(raw, dnsfunc=dnsfunc))


async def _sign(store: DKIMKeyStore, raw: bytes, sender: str = "") -> bytes:
    outbound = OutboundMessage(QueueId(1), sender, ("bob@remote.test",), raw)
    return await DKIMSigner(store).process(outbound)


@pytest.mark.parametrize("algorithm", list(Algorithm))
async def test_a_tidings_signed_message_verifies_with_dkimpy(
    tmp_path: Path, algorithm: Algorithm
) -> None:
    store = DKIMKeyStore(tmp_path / "dkim")
    key = store.generate("local.test", algorithm)
    signed = await _sign(store, message("local.test"))
    assert signed.startswith(b"DKIM-Signature:")
    assert f"a={algorithm.signature_algorithm.decode()}".encode() in signed.split(b"\r\n\r\n")[0]
    assert dkimpy_verifies(signed, key)
    assert not dkimpy_verifies(signed.replace(b"Hi there", b"Hi thief"), key)


@pytest.mark.parametrize("algorithm", list(Algorithm))
async def test_our_verifier_passes_our_signature_over_loopback_dns(
    tmp_path: Path, algorithm: Algorithm
) -> None:
    store = DKIMKeyStore(tmp_path / "dkim")
    key = store.generate("local.test", algorithm)
    server = await DNSServer(Zone().add(key.dns_name(), "TXT", key.txt_record())).start()
    try:
        signed = await _sign(store, message("local.test"))
        results = await verify_dkim(Resolver(("127.0.0.1", server.port), timeout_seconds=2),
                                    signed)
    finally:
        server.close()
    assert [r.result for r in results] == [DKIMResult.PASS]


async def test_a_domain_without_a_key_is_sent_unsigned(tmp_path: Path) -> None:
    store = DKIMKeyStore(tmp_path / "dkim")
    store.generate("local.test", Algorithm.ED25519)
    raw = message("elsewhere.test")
    assert await _sign(store, raw) == raw


def test_keys_are_private_files_and_the_record_is_publishable(tmp_path: Path) -> None:
    store = DKIMKeyStore(tmp_path / "dkim")
    key = store.generate("Local.Test", Algorithm.RSA, "sel1")
    path = store.key_path("local.test", "sel1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.dns_name() == "sel1._domainkey.local.test"
    assert key.txt_record().startswith("v=DKIM1; k=rsa; p=MIIB")
    with pytest.raises(Conflict):
        store.generate("local.test", Algorithm.RSA, "sel1")


async def test_rotation_adds_a_second_selector_that_signs(tmp_path: Path) -> None:
    store = DKIMKeyStore(tmp_path / "dkim")
    old = store.generate("local.test", Algorithm.ED25519, "old")
    new = store.rotate("local.test", selector="new")
    assert [k.selector for k in store.keys("local.test")] == ["old", "new"]
    signed = await _sign(store, message("local.test"))
    assert b"s=new" in signed and dkimpy_verifies(signed, new)
    store.retire("local.test", "old")
    assert not store.key_path("local.test", old.selector).exists()
    with pytest.raises(NotFound):
        store.rotate("nokey.test")


def test_cli_generate_rotate_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tidings.toml").write_text('[server]\nhostname = "mx.example.org"\n')
    data = ["--data", str(tmp_path)]
    assert main(["dkim", "generate", "example.org", "--algorithm", "ed25519",
                 "--selector", "one", "--json", *data]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["dns_name"] == "one._domainkey.example.org"
    assert created["txt"].startswith("v=DKIM1; k=ed25519; p=")
    assert main(["dkim", "rotate", "example.org", "--selector", "two", *data]) == 0
    assert "two._domainkey.example.org" in capsys.readouterr().out
    assert main(["dkim", "list", "--json", *data]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["selector"], k["signing"]) for k in listed] == [("one", False), ("two", True)]
    assert (tmp_path / "dkim" / "example.org.one.key").exists()
    assert main(["dkim", "generate", "example.org", "--selector", "one", *data]) == 1
