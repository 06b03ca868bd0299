"""`tidings audit verify|list|export` and `tidings token` against an initialised data dir."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tidings.cli.main import main


@pytest.fixture
def data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["init", "--data", str(tmp_path), "--domain", "example.org", "--json"]) == 0
    capsys.readouterr()
    return tmp_path


def _database(data: Path) -> Path:
    found = sorted(data.rglob("*.db"))
    assert found, f"no SQLite database under {data}"
    return found[0]


def _make_records(data: Path, capsys: pytest.CaptureFixture[str], count: int) -> None:
    for n in range(count):
        args = ["token", "create", "--data", str(data), "--principal", "admin@example.org"]
        assert main([*args, "--name", f"t{n}", "--json"]) == 0
    capsys.readouterr()


def test_verify_passes_on_an_untouched_log(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _make_records(data, capsys, 3)
    assert main(["audit", "verify", "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "records": 3}


def test_verify_fails_and_names_a_record_changed_with_raw_sql(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _make_records(data, capsys, 4)
    with sqlite3.connect(_database(data)) as db:
        db.execute("UPDATE audit_log SET object_id = '99' WHERE id = 2")
    assert main(["audit", "verify", "--data", str(data)]) == 1
    captured = capsys.readouterr()
    assert "audit record 2 does not match" in captured.err
    assert "first_bad_id: 2" in captured.out


def test_token_commands_create_list_and_revoke_with_audit_records(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--data", str(data), "--json"]
    assert main(["token", "create", "--principal", "admin@example.org", "--name", "ci",
                 "--role", "auditor", *args]) == 0  # fmt: skip
    created = json.loads(capsys.readouterr().out)
    assert created["token"].startswith("tdg_") and created["role"] == "auditor"
    assert main(["token", "list", *args]) == 0
    assert [t["name"] for t in json.loads(capsys.readouterr().out)] == ["ci"]
    assert main(["token", "revoke", str(created["id"]), *args]) == 0
    capsys.readouterr()
    assert main(["audit", "list", *args]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["action"] for r in records] == ["token.create", "token.revoke"]
    assert records[0]["actor"].startswith("cli:")
    assert created["token"] not in json.dumps(records)


def test_export_writes_csv_and_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _make_records(data, capsys, 2)
    out = data / "audit.csv"
    assert main(["audit", "export", "--data", str(data), "--format", "csv", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,at,actor") and len(lines) == 3
    assert main(["audit", "export", "--data", str(data)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in exported] == [1, 2]
    assert exported[1]["prev_hash"] == exported[0]["hash"]
