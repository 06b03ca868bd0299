"""The directory commands of `tidings`, run in-process against a real SQLite store."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tidings.cli.main import main


class CLI:
    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> str:
        """Run `tidings ARGS --data DATA`; assert the exit code; return stdout."""
        result = main([*args, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        assert result == code, err
        self.last_error = err
        return out

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--json"))


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    assert main(["init", "--data", str(tmp_path), "--domain", "example.org", "--json"]) == 0
    capsys.readouterr()
    return CLI(tmp_path, capsys)


def test_domains_can_be_added_listed_shown_and_removed(cli: CLI) -> None:
    cli("domain", "add", "Example.NET")
    names = [d["name"] for d in cli.json("domain", "list")]  # type: ignore[attr-defined, index]
    assert set(names) == {"example.net", "example.org"}
    assert cli.json("domain", "show", "example.net")["name"] == "example.net"  # type: ignore[index]
    cli("domain", "remove", "example.net")
    cli("domain", "show", "example.net", code=1)
    assert cli.last_error.startswith("tidings: error: ")
    assert cli.last_error.count("\n") == 1


def test_user_add_with_password_from_stdin_does_not_print_it(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    user = cli.json("user", "add", "bob@example.org", "--display-name", "Bob", "--password-stdin")
    assert user["address"] == "bob@example.org"  # type: ignore[index]
    assert "password" not in user  # type: ignore[operator]
    shown = cli.json("user", "show", "bob@example.org")
    assert shown["display_name"] == "Bob"  # type: ignore[index]


def test_user_add_without_a_password_prints_a_generated_one(cli: CLI) -> None:
    user = cli.json("user", "add", "carol@example.org")
    assert len(user["password"]) >= 12  # type: ignore[index]
    changed = cli.json("user", "passwd", "carol@example.org")
    assert changed["password"] != user["password"]  # type: ignore[index]


def test_adding_a_user_twice_fails_with_one_line(cli: CLI) -> None:
    cli("user", "add", "dave@example.org")
    cli("user", "add", "dave@example.org", code=1)
    assert cli.last_error.count("\n") == 1


def test_a_bad_address_is_a_usage_error(cli: CLI) -> None:
    cli("user", "add", "not an address", code=2)
    assert cli.last_error.startswith("tidings: error: ")


def test_groups_get_members_and_show_them(cli: CLI) -> None:
    cli("user", "add", "erin@example.org")
    cli("group", "add", "team@example.org", "--display-name", "Team")
    members = cli.json("group", "members", "team@example.org", "--add", "erin@example.org")
    assert [m["address"] for m in members] == ["erin@example.org"]  # type: ignore[attr-defined, index]
    shown = cli.json("group", "show", "team@example.org")
    assert shown["members"] == ["erin@example.org"]  # type: ignore[index]
    members = cli.json("group", "members", "team@example.org", "--remove", "erin@example.org")
    assert members == []


def test_aliases_resources_and_shared_mailboxes(cli: CLI) -> None:
    cli("user", "add", "frank@example.org")
    cli("alias", "add", "info@example.org", "frank@example.org")
    assert cli.json("alias", "list", "frank@example.org") == ["info@example.org"]
    cli("resource", "add", "room1@example.org", "--kind", "room")
    rooms = cli.json("resource", "list", "--kind", "room")
    assert [r["address"] for r in rooms] == ["room1@example.org"]  # type: ignore[attr-defined, index]
    cli("shared", "add", "sales@example.org")
    assert cli.json("shared", "show", "sales@example.org")["kind"] == "shared"  # type: ignore[index]
    cli("alias", "remove", "info@example.org")
    assert cli.json("alias", "list", "frank@example.org") == []


def test_removing_with_the_wrong_noun_is_refused(cli: CLI) -> None:
    cli("user", "add", "gina@example.org")
    cli("group", "remove", "gina@example.org", code=2)
    assert "is a user, not a group" in cli.last_error
    assert cli.json("user", "show", "gina@example.org")["address"] == "gina@example.org"  # type: ignore[index]


def test_text_output_is_a_table(cli: CLI) -> None:
    cli("user", "add", "hank@example.org", "--display-name", "Hank")
    out = cli("user", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["ADDRESS", "KIND", "DISPLAY_NAME", "ROLE", "ENABLED"]
    assert any(line.startswith("hank@example.org") and "Hank" in line for line in lines)


def test_check_reports_a_fresh_store_as_ok(cli: CLI) -> None:
    report = cli.json("check")
    assert report["ok"] is True  # type: ignore[index]
    assert report["problems"] == []  # type: ignore[index]
    assert cli("check").rstrip().endswith(": ok")



def test_passwd_prompt_without_a_terminal_says_what_to_do(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_terminal(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_terminal)
    cli("user", "passwd", "admin@example.org", "--prompt", code=2)
    assert "--password-stdin" in cli.last_error
    assert "Traceback" not in cli.last_error
