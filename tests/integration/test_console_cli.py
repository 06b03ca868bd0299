"""The directory CLI goes through the AdminService: each change leaves an audit
record as the local operator; `tidings user totp enable` enrols a second factor."""

from __future__ import annotations

import getpass
import io
import json
from pathlib import Path

import pyotp
import pytest

from tidings.cli.main import main


class CLI:
    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> object:
        result = main([*args, "--data", str(self.data), "--json"])
        out, err = self.capsys.readouterr()
        assert result == code, err
        return json.loads(out) if out.strip() else None


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    assert main(["init", "--data", str(tmp_path), "--domain", "example.org", "--json"]) == 0
    capsys.readouterr()
    return CLI(tmp_path, capsys)


def audit(cli: CLI) -> list[dict[str, object]]:
    records = cli("audit", "list", "--limit", "1000")
    assert isinstance(records, list)
    return records


def test_every_directory_change_from_the_cli_is_audited(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    before = len(audit(cli))
    cli("domain", "add", "cli.example")
    cli("user", "add", "ann@cli.example", "--display-name", "Ann", "--password-stdin")
    cli("user", "passwd", "ann@cli.example")
    cli("group", "add", "staff@cli.example")
    cli("group", "members", "staff@cli.example", "--add", "ann@cli.example")
    cli("alias", "add", "info@cli.example", "ann@cli.example")
    cli("alias", "remove", "info@cli.example")
    cli("shared", "add", "desk@cli.example")
    cli("resource", "add", "room1@cli.example", "--kind", "room")
    cli("group", "remove", "staff@cli.example")
    records = audit(cli)[before:]
    actions = [(r["action"], r["object_id"]) for r in records]
    assert actions == [
        ("domain.create", "cli.example"),
        ("principal.create", "ann@cli.example"),
        ("principal.password_reset", "ann@cli.example"),
        ("principal.create", "staff@cli.example"),
        ("group.member_add", "staff@cli.example"),
        ("alias.add", "ann@cli.example"),
        ("alias.remove", "ann@cli.example"),
        ("principal.create", "desk@cli.example"),
        ("principal.create", "room1@cli.example"),
        ("principal.delete", "staff@cli.example"),
    ]
    assert {r["actor"] for r in records} == {f"cli:{getpass.getuser()}"}
    assert cli("audit", "verify") == {"valid": True, "records": before + len(records)}


def test_reads_leave_no_audit_record_and_errors_keep_their_exit_codes(cli: CLI) -> None:
    before = len(audit(cli))
    cli("domain", "list")
    cli("user", "list")
    cli("user", "show", "nobody@example.org", code=1)
    cli("user", "add", "not an address", code=2)
    assert len(audit(cli)) == before


def test_totp_enable_prints_an_otpauth_uri_and_is_audited(cli: CLI) -> None:
    cli("user", "add", "root2@example.org", "--role", "global_admin")
    shown = cli("user", "totp", "enable", "root2@example.org")
    assert isinstance(shown, dict)
    uri = str(shown["otpauth_uri"])
    assert uri.startswith("otpauth://totp/")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.name == "root2@example.org"
    assert len(parsed.now()) == 6
    cli("user", "totp", "disable", "root2@example.org")
    cli("user", "totp", "disable", "root2@example.org", code=1)
    actions = [r["action"] for r in audit(cli)]
    assert actions[-2:] == ["principal.totp_enable", "principal.totp_disable"]
