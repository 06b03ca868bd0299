"""The clamd client against Debian's real clamd (`clamav-daemon`).

Without network access freshclam cannot fetch the official signature database, so
the test starts clamd with a one-line local signature database that describes the
EICAR test file; clamd's own MIME decoder has to find it inside a base64 attachment.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.hygiene.spam.fake_clamd import EICAR
from tests.unit.hygiene.spam.messages import plain, with_attachment
from tidings.delivery.stages import Reject, StageInput
from tidings.hygiene.antivirus import AntivirusStage, ClamdClient
from tidings.hygiene.spam.settings import AntivirusSettings

CLAMD = "clamd"
OFFICIAL_DB = Path("/var/lib/clamav")
# Locally a missing clamd skips; in CI (.ci/run installs clamav-daemon) it fails.
pytestmark = pytest.mark.needs_program("clamd", package="clamav-daemon")


@pytest.fixture
async def clamd(tmp_path: Path) -> AsyncIterator[str]:
    database = tmp_path / "db"
    database.mkdir()
    (database / "tidings-test.ndb").write_text(f"Tidings.Test.EICAR:0:*:{EICAR.hex()}\n")
    socket_path = tmp_path / "clamd.sock"
    config = tmp_path / "clamd.conf"
    config.write_text(
        f"Foreground yes\nLocalSocket {socket_path}\nDatabaseDirectory {database}\n"
        f"LogFile {tmp_path / 'clamd.log'}\nPidFile {tmp_path / 'clamd.pid'}\n")
    process = await asyncio.create_subprocess_exec(
        CLAMD, "-c", str(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"unix:{socket_path}"
    try:
        client = ClamdClient(address, timeout=2)
        for _ in range(150):
            if process.returncode is not None:
                pytest.skip(f"clamd exited with {process.returncode} at start-up")
            if await client.ping():
                break
            await asyncio.sleep(0.2)
        else:
            pytest.skip("clamd did not answer PING within 30 seconds")
        yield address
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_real_clamd_finds_eicar_in_a_base64_attachment(clamd: str) -> None:
    client = ClamdClient(clamd)
    infected = await client.scan(with_attachment("eicar.com", EICAR))
    assert infected.infected and "Tidings.Test.EICAR" in infected.signature
    assert (await client.scan(plain())).infected is False


async def test_the_stage_rejects_what_real_clamd_finds(clamd: str) -> None:
    stage = AntivirusStage(AntivirusSettings(clamd=clamd), None)
    raw = with_attachment("readme.txt", EICAR, content_type="text/plain")
    verdict = await stage.evaluate(StageInput("x@example.test", (), raw, None, "192.0.2.1"))
    assert isinstance(verdict, Reject) and "Tidings.Test.EICAR" in verdict.text


@pytest.mark.skipif(not any(OFFICIAL_DB.glob("daily.c[lv]d")),
                    reason="the official ClamAV signatures (daily.cvd) need freshclam, which "
                           "needs network access this machine does not have")
async def test_real_clamd_with_official_signatures_names_eicar() -> None:
    client = ClamdClient("unix:/run/clamav/clamd.ctl")
    result = await client.scan(with_attachment("eicar.com", EICAR))
    assert result.infected and "Eicar" in result.signature
