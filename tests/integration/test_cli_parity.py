"""CLI parity with the admin API: every endpoint has a `tidings` subcommand, and the
subcommands added for it work, run through the same audited service, and fail with
one line and the documented exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tidings.admin.service import build_admin_service
from tidings.cli.common import load_config, opened_store
from tidings.cli.main import build_parser, main
from tidings.cli.remote_commands import REMOTE
from tidings.directory.auth import Authenticator
from tidings.model.queue import QueuedMessage
from tidings.web.api import ENDPOINTS, api_mount
from tidings.web.app import create_app

P = "/v1/principals/{address}"
KINDS = ("user", "group", "shared", "resource")
# Which `tidings` subcommands do what each API endpoint does. A new endpoint fails
# `test_every_api_endpoint_has_a_cli_subcommand` until it gets a line (and a command).
CLI_FOR: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/v1/status"): ("status",),
    ("GET", "/v1/queue"): ("queue list",),
    ("GET", "/v1/queue/{id}"): ("queue show",),
    ("POST", "/v1/queue/{id}/retry"): ("queue retry",),
    ("DELETE", "/v1/queue/{id}"): ("queue delete",),
    ("GET", "/v1/tokens"): ("token list",),
    ("POST", "/v1/tokens"): ("token create",),
    ("DELETE", "/v1/tokens/{id}"): ("token revoke",),
    ("GET", "/v1/audit"): ("audit list", "audit export"),
    ("GET", "/v1/audit/verify"): ("audit verify",),
    ("GET", "/v1/domains"): ("domain list",),
    ("POST", "/v1/domains"): ("domain add",),
    ("GET", "/v1/domains/{name}"): ("domain show",),
    ("DELETE", "/v1/domains/{name}"): ("domain remove",),
    ("GET", "/v1/domains/{name}/dns"): ("domain dns",),
    ("GET", "/v1/principals"): ("principal list", *(f"{k} list" for k in KINDS)),
    ("POST", "/v1/users"): ("user add",),
    ("POST", "/v1/principals"): ("group add", "shared add", "resource add"),
    ("GET", P): ("principal show", *(f"{k} show" for k in KINDS)),
    ("PATCH", P): tuple(f"{k} edit" for k in KINDS),
    ("DELETE", P): tuple(f"{k} remove" for k in KINDS),
    ("POST", P + "/password"): ("user passwd",),
    ("GET", P + "/aliases"): ("alias list",),
    ("POST", P + "/aliases"): ("alias add",),
    ("DELETE", P + "/aliases/{alias}"): ("alias remove",),
    ("GET", P + "/members"): ("group members",),
    ("POST", P + "/members"): ("group members",),
    ("DELETE", P + "/members/{member}"): ("group members",),
    ("GET", P + "/app-passwords"): ("user app-password list",),
    ("POST", P + "/app-passwords"): ("user app-password add",),
    ("DELETE", P + "/app-passwords/{id}"): ("user app-password remove",),
    ("GET", P + "/permissions"): ("permission list",),
    ("POST", P + "/permissions"): ("permission grant",),
    ("DELETE", P + "/permissions/{grantee}/{permission}"): ("permission revoke",),
    ("GET", P + "/resource-policy"): ("resource policy show",),
    ("PUT", P + "/resource-policy"): ("resource policy set",),
    ("GET", P + "/admin-domains"): ("admin-domain list",),
    ("POST", P + "/admin-domains"): ("admin-domain add",),
    ("DELETE", P + "/admin-domains/{domain}"): ("admin-domain remove",),
    ("GET", "/v1/quarantine"): ("quarantine list",),
    ("GET", "/v1/quarantine/{id}"): ("quarantine show",),
    ("POST", "/v1/quarantine/{id}/release"): ("quarantine release",),
    ("DELETE", "/v1/quarantine/{id}"): ("quarantine delete",),
    ("GET", P + "/senders"): ("spam senders list",),
    ("POST", P + "/senders"): ("spam senders add",),
    ("DELETE", P + "/senders/{pattern}"): ("spam senders remove",),
    ("GET", "/v1/spam/rules"): ("spam rules list",),
    ("PUT", "/v1/spam/rules/{name}"): ("spam rules set",),
    ("GET", "/v1/spam/stats"): ("spam stats",),
    ("GET", P + "/collections/{kind}/{name}/shares"): ("calendar shares",),
    ("PUT", P + "/collections/{kind}/{name}/shares/{grantee}"): ("calendar share",),
    ("DELETE", P + "/collections/{kind}/{name}/shares/{grantee}"): ("calendar unshare",),
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _resolve(words: str) -> argparse.ArgumentParser | None:
    """The parser of `tidings WORDS` if it is a runnable leaf, else None."""
    parser = build_parser()
    for word in words.split():
        found = _subcommands(parser).get(word)
        if found is None:
            return None
        parser = found
    runnable = parser.get_default("run") is not None
    return parser if runnable and not _subcommands(parser) else None


# --- the table -----------------------------------------------------------------------
def test_every_api_endpoint_has_a_cli_subcommand() -> None:
    endpoints = {(e.method, e.path) for e in ENDPOINTS}
    missing = sorted(endpoints - CLI_FOR.keys())
    assert not missing, f"API endpoints without a tidings subcommand: {missing}"
    stale = sorted(CLI_FOR.keys() - endpoints)
    assert not stale, f"the table names endpoints the API no longer has: {stale}"


def test_every_subcommand_the_table_names_exists_and_runs_something() -> None:
    absent = sorted({w for words in CLI_FOR.values() for w in words if _resolve(w) is None})
    assert not absent, f"not runnable `tidings` subcommands: {absent}"


def test_the_walker_rejects_a_subcommand_that_does_not_exist() -> None:
    assert _resolve("user edit") is not None
    assert _resolve("user frobnicate") is None
    assert _resolve("user") is None  # a command holding actions is not a leaf


def _leaf_words(parser: argparse.ArgumentParser, words: str = "") -> list[str]:
    children = _subcommands(parser)
    if not children:
        return [words]
    return [w for name, child in children.items() for w in _leaf_words(child, f"{words} {name}")]


def test_the_cli_reference_documents_every_subcommand() -> None:
    reference = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    leaves = _leaf_words(build_parser())
    assert len(leaves) > 60
    undocumented = [w for w in leaves if f"`tidings{w}" not in reference]
    assert not undocumented, f"missing from docs/cli.md: {undocumented}"


def test_shared_help_says_shared_mailboxes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["shared", "--help"])
    out = capsys.readouterr().out
    assert "list shared mailboxes" in out
    assert "shareds" not in out


# --- running the commands ------------------------------------------------------------
class CLI:
    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys
        self.last_error = ""

    def __call__(self, *args: str, code: int = 0) -> str:
        """Run `tidings ARGS --data DATA`; assert the exit code; return stdout."""
        result = main([*args, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        assert result == code, err
        self.last_error = err
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json"))

    def fails(self, *args: str, code: int) -> str:
        """Run a command expected to fail; the error is one `tidings: error:` line."""
        self(*args, code=code)
        assert self.last_error.startswith("tidings: error: ")
        assert self.last_error.count("\n") == 1
        return self.last_error

    def usage_error(self, *args: str) -> str:
        with pytest.raises(SystemExit) as exited:
            main([*args, "--data", str(self.data)])
        assert exited.value.code == 2
        return self.capsys.readouterr().err

    def audit(self, action: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.json("audit", "list", "--action", action)
        return records


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    assert main(["init", "--data", str(tmp_path), "--domain", "example.org", "--json"]) == 0
    capsys.readouterr()
    runner = CLI(tmp_path, capsys)
    runner("user", "add", "alice@example.org", "--display-name", "Alice")
    return runner


def _record_of(cli: CLI, action: str) -> dict[str, Any]:
    records = cli.audit(action)
    assert records, f"no {action} audit record"
    record = records[-1]
    assert record["actor"].startswith("cli:")
    return record


def test_domain_dns_gives_the_records_the_api_gives(cli: CLI) -> None:
    shown = cli.json("domain", "dns", "Example.org")
    assert shown["domain"] == "example.org"
    by_type = {(r["type"], r["name"]): r for r in shown["records"]}
    assert by_type[("MX", "example.org.")]["value"] == "10 mail.example.org."
    assert ("TXT", "_dmarc.example.org.") in by_type
    zone = cli("domain", "dns", "example.org", "--zone")
    assert 'example.org.\t3600\tIN\tTXT\t"v=spf1 mx -all"' in zone
    assert "nowhere.example" in cli.fails("domain", "dns", "nowhere.example", code=1)


def test_user_edit_changes_fields_and_leaves_an_audit_record(cli: CLI) -> None:
    edited = cli.json("user", "edit", "alice@example.org", "--display-name", "Alice B.",
                      "--disable", "--quota", "5000")  # fmt: skip
    assert (edited["display_name"], edited["enabled"], edited["quota_bytes"]) == (
        "Alice B.", False, 5000)  # fmt: skip
    record = _record_of(cli, "principal.update")
    assert record["object_id"] == "alice@example.org"
    assert record["before"]["enabled"] is True and record["after"]["enabled"] is False
    again = cli.json("user", "edit", "alice@example.org", "--enable", "--no-quota",
                     "--role", "helpdesk")  # fmt: skip
    assert (again["enabled"], again["quota_bytes"], again["role"]) == (True, None, "helpdesk")


def test_user_edit_without_a_change_or_with_both_states_is_a_usage_error(cli: CLI) -> None:
    assert "nothing to change" in cli.fails("user", "edit", "alice@example.org", code=2)
    assert "not allowed with" in cli.usage_error(
        "user", "edit", "alice@example.org", "--enable", "--disable")
    assert cli.usage_error("user", "edit", "alice@example.org", "--quota", "-1")


def test_edit_of_the_wrong_kind_is_refused_before_any_change(cli: CLI) -> None:
    cli("group", "add", "team@example.org")
    assert "is a group, not a user" in cli.fails(
        "user", "edit", "team@example.org", "--display-name", "X", code=2)
    assert cli.audit("principal.update") == []
    cli("shared", "add", "info@example.org")
    shared = cli.json(
        "shared", "edit", "info@example.org", "--display-name", "Info desk", "--quota", "9")
    assert (shared["display_name"], shared["quota_bytes"]) == ("Info desk", 9)
    group = cli.json("group", "edit", "team@example.org", "--disable")
    assert group["enabled"] is False
    cli.usage_error("group", "edit", "team@example.org", "--quota", "5")  # no quota on groups


def test_app_passwords_print_the_secret_once_and_can_be_removed(cli: CLI) -> None:
    created = cli.json("user", "app-password", "add", "alice@example.org", "phone")
    assert len(created["password"]) >= 16 and created["label"] == "phone"
    listed = cli.json("user", "app-password", "list", "alice@example.org")
    assert [a["label"] for a in listed] == ["phone"]
    assert "password" not in listed[0]
    assert _record_of(cli, "app_password.add")["after"]["label"] == "phone"
    cli("user", "app-password", "remove", "alice@example.org", str(created["id"]))
    assert cli.json("user", "app-password", "list", "alice@example.org") == []
    assert _record_of(cli, "app_password.remove")["before"] == {"id": created["id"]}
    cli.fails("user", "app-password", "remove", "alice@example.org", "999", code=1)


def test_permissions_are_granted_listed_and_revoked_with_audit(cli: CLI) -> None:
    cli("shared", "add", "sales@example.org")
    cli("permission", "grant", "sales@example.org", "alice@example.org", "send_as")
    cli("permission", "grant", "sales@example.org", "alice@example.org", "full_access")
    held = cli.json("permission", "list", "alice@example.org")
    assert sorted(h["permission"] for h in held) == ["full_access", "send_as"]
    assert {h["owner"] for h in held} == {"sales@example.org"}
    grant = _record_of(cli, "permission.grant")
    assert grant["object_id"] == "sales@example.org"
    assert grant["after"] == {"grantee": "alice@example.org", "permission": "full_access"}
    cli("permission", "revoke", "sales@example.org", "alice@example.org", "send_as")
    held = cli.json("permission", "list", "alice@example.org")
    assert [h["permission"] for h in held] == ["full_access"]
    assert _record_of(cli, "permission.revoke")["before"]["permission"] == "send_as"
    assert "invalid choice" in cli.usage_error(
        "permission", "grant", "sales@example.org", "alice@example.org", "root")
    cli.fails("permission", "grant", "nobody@example.org", "alice@example.org", "send_as",
              code=1)  # fmt: skip


def test_resource_policy_set_changes_only_the_given_options(cli: CLI) -> None:
    cli("resource", "add", "room1@example.org", "--kind", "room")
    before = cli.json("resource", "policy", "show", "room1@example.org")
    assert before["auto_accept"] is True and before["booking_window_days"] == 180
    after = cli.json("resource", "policy", "set", "room1@example.org", "--no-auto-accept",
                     "--capacity", "12", "--booker", "alice@example.org")  # fmt: skip
    assert (after["auto_accept"], after["capacity"]) == (False, 12)
    assert after["booker_addresses"] == ["alice@example.org"]
    assert after["booking_window_days"] == 180  # kept
    shown = cli.json("resource", "policy", "show", "room1@example.org")
    assert shown == after
    record = _record_of(cli, "resource.policy_set")
    assert record["before"]["auto_accept"] is True and record["after"]["capacity"] == 12
    everyone = cli.json("resource", "policy", "set", "room1@example.org", "--everyone",
                        "--capacity", "0")  # fmt: skip
    assert (everyone["bookers"], everyone["capacity"]) == ([], None)
    assert "not a room or equipment" in cli.fails(
        "resource", "policy", "set", "alice@example.org", "--capacity", "3", code=2)
    assert "nothing to change" in cli.fails(
        "resource", "policy", "set", "room1@example.org", code=2)


def test_admin_domains_are_added_listed_and_removed_with_audit(cli: CLI) -> None:
    cli("domain", "add", "example.net")
    cli("user", "add", "da@example.org", "--role", "domain_admin")
    cli("admin-domain", "add", "da@example.org", "example.net")
    assert cli.json("admin-domain", "list", "da@example.org") == ["example.net"]
    assert _record_of(cli, "domain_admin.add")["after"] == {"domain": "example.net"}
    cli("admin-domain", "remove", "da@example.org", "example.net")
    assert cli.json("admin-domain", "list", "da@example.org") == []
    assert _record_of(cli, "domain_admin.remove")["before"] == {"domain": "example.net"}


def test_status_counts_what_the_store_holds(cli: CLI) -> None:
    cli("group", "add", "team@example.org")
    figures = cli.json("status")
    assert figures["domains"] == 1
    assert figures["principals"]["user"] == 2  # the admin made by init, and alice
    assert figures["principals"]["group"] == 1
    assert figures["queue_messages"] == 0
    assert figures["audit_records"] >= 2
    text = cli("status")
    assert "principals:" in text and "group=1" in text


def test_principal_list_and_show_cover_every_kind(cli: CLI) -> None:
    cli("group", "add", "team@example.org")
    cli("group", "members", "team@example.org", "--add", "alice@example.org")
    rows = cli.json("principal", "list")
    assert {(r["address"], r["kind"]) for r in rows} >= {
        ("alice@example.org", "user"), ("team@example.org", "group")}
    groups = cli.json("principal", "list", "--kind", "group")
    assert [g["address"] for g in groups] == ["team@example.org"]
    shown = cli.json("principal", "show", "team@example.org")
    assert shown["members"] == ["alice@example.org"]


async def _enqueue(data: Path) -> QueuedMessage:
    settings = load_config(argparse.Namespace(config=None, data=data))
    async with opened_store(settings) as store:
        blob = await store.blobs.put(b"From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n")
        return await store.queue.enqueue("alice@example.org", ["bob@remote.test"], blob)


def test_queue_retry_and_delete_leave_audit_records(cli: CLI) -> None:
    queued = asyncio.run(_enqueue(cli.data))
    cli("queue", "retry", str(queued.id))
    assert _record_of(cli, "queue.retry")["object_id"] == str(queued.id)
    cli("queue", "delete", str(queued.id))
    assert _record_of(cli, "queue.delete")["before"]["recipients"] == ["bob@remote.test"]
    cli.fails("queue", "delete", str(queued.id), code=1)


def test_audit_list_filters_by_object_and_time(cli: CLI) -> None:
    cli("user", "edit", "alice@example.org", "--display-name", "A")
    mine = cli.json("audit", "list", "--object-id", "alice@example.org")
    assert {r["action"] for r in mine} == {"principal.create", "principal.update"}
    assert cli.json("audit", "list", "--since", "2999-01-01T00:00:00+00:00") == []
    assert "time zone" in cli.usage_error("audit", "list", "--since", "2020-01-01T00:00")


def test_sender_lists_through_the_cli_are_audited(cli: CLI) -> None:
    cli("spam", "senders", "add", "alice@example.org", "boss@corp.test", "--kind", "safe")
    rows = cli.json("spam", "senders", "list", "alice@example.org")
    assert [(r["pattern"], r["kind"]) for r in rows] == [("boss@corp.test", "safe")]
    assert _record_of(cli, "spam.sender_add")["object_id"] == "alice@example.org"


# --- --url: the same commands against a running server's API ------------------------
LOCAL_ONLY = {"audit export"}  # streams every record to a file; `audit list` pages


def test_every_subcommand_for_an_endpoint_also_talks_to_a_server() -> None:
    named = {w for words in CLI_FOR.values() for w in words} - LOCAL_ONLY
    without = sorted(w for w in named if "--url" not in _resolve(w).format_help())  # type: ignore[union-attr]
    assert not without, f"subcommands without --url: {without}"
    assert set(REMOTE) <= {w for words in CLI_FOR.values() for w in words} | {
        "principal list", "principal show"}


@pytest.fixture
def server(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> str:
    """Route --url to an in-process API over the data dir; return a global admin token."""

    @contextlib.asynccontextmanager
    async def in_process(url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
        assert url == "https://mail.example.org"
        settings = load_config(argparse.Namespace(config=None, data=cli.data))
        async with opened_store(settings) as store:
            service = build_admin_service(store, Authenticator(store.directory),
                                          hostname=settings.server.hostname)  # fmt: skip

            async def healthy() -> None:
                return None

            app = create_app(healthy, registry=CollectorRegistry(),
                             routes=[api_mount(service)])  # fmt: skip
            transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 5000))
            async with httpx.AsyncClient(
                transport=transport, base_url=url,
                headers={"Authorization": f"Bearer {token}"},
            ) as client:  # fmt: skip
                yield client

    monkeypatch.setattr("tidings.cli.remote.open_client", in_process)
    made = cli.json("token", "create", "--principal", "admin@example.org", "--name", "cli")
    token: str = made["token"]
    return token


def _remote(cli: CLI, token: str, *args: str, code: int = 0) -> str:
    result = main([*args, "--url", "https://mail.example.org", "--token", token])
    out, err = cli.capsys.readouterr()
    assert result == code, err
    cli.last_error = err
    return out


def test_url_mode_runs_the_same_operation_audited_as_the_token(cli: CLI, server: str) -> None:
    edited = json.loads(_remote(cli, server, "user", "edit", "alice@example.org",
                                "--display-name", "Remote Alice", "--json"))  # fmt: skip
    assert edited["display_name"] == "Remote Alice"
    record = _record_of_any(cli, "principal.update")
    assert record["actor"].startswith("token:") and record["actor"].endswith("admin@example.org")
    assert record["remote_ip"] == "192.0.2.7"
    assert cli.json("user", "show", "alice@example.org")["display_name"] == "Remote Alice"


def test_url_mode_gives_what_the_local_command_gives(cli: CLI, server: str) -> None:
    local = cli.json("domain", "dns", "example.org")
    assert json.loads(_remote(cli, server, "domain", "dns", "example.org", "--json")) == local
    cli("resource", "add", "room1@example.org", "--kind", "room")
    cli("resource", "policy", "set", "room1@example.org", "--booker", "alice@example.org")
    # The API's PUT replaces the policy: --url must keep the bookers it was not told about.
    after = json.loads(_remote(cli, server, "resource", "policy", "set", "room1@example.org",
                               "--capacity", "4", "--json"))  # fmt: skip
    assert after == cli.json("resource", "policy", "show", "room1@example.org")
    assert (after["capacity"], after["booker_addresses"]) == (4, ["alice@example.org"])
    _remote(cli, server, "permission", "grant", "room1@example.org", "alice@example.org",
            "calendar_delegate")  # fmt: skip
    assert cli.json("permission", "list", "alice@example.org") == [
        {"owner": "room1@example.org", "permission": "calendar_delegate"}]
    listed = json.loads(_remote(cli, server, "resource", "list", "--json"))
    assert [p["address"] for p in listed] == ["room1@example.org"]


def test_url_mode_errors_are_one_line_with_the_exit_code(cli: CLI, server: str) -> None:
    _remote(cli, server, "user", "show", "nobody@example.org", code=1)
    assert cli.last_error.startswith("tidings: error: ") and cli.last_error.count("\n") == 1
    _remote(cli, server, "domain", "add", "not a domain", code=2)
    _remote(cli, "tdg_wrong", "status", code=1)
    assert "refused the token" in cli.last_error
    assert main(["status", "--url", "https://mail.example.org"]) == 2  # no token
    assert main(["status", "--url", "https://x.test", "--token", "t", "--data", "d"]) == 2


def _record_of_any(cli: CLI, action: str) -> dict[str, Any]:
    records = cli.audit(action)
    assert records, f"no {action} audit record"
    return records[-1]


def test_url_mode_reads_and_changes_everything_else(cli: CLI, server: str) -> None:
    def remote(*args: str) -> Any:
        return json.loads(_remote(cli, server, *args, "--json"))

    remote("group", "add", "team@example.org")
    members = remote("group", "members", "team@example.org", "--add", "alice@example.org")
    assert [m["address"] for m in members] == ["alice@example.org"]
    remote("alias", "add", "a@example.org", "alice@example.org")
    assert remote("alias", "list", "alice@example.org") == ["a@example.org"]
    remote("alias", "remove", "a@example.org")
    assert cli.json("alias", "list", "alice@example.org") == []
    made = remote("user", "app-password", "add", "alice@example.org", "tablet")
    assert made["password"] and remote("user", "app-password", "list", "alice@example.org")
    remote("user", "app-password", "remove", "alice@example.org", str(made["id"]))
    remote("domain", "add", "example.net")
    remote("user", "add", "da@example.org", "--role", "domain_admin")
    remote("admin-domain", "add", "da@example.org", "example.net")
    assert remote("admin-domain", "list", "da@example.org") == ["example.net"]
    remote("spam", "senders", "add", "alice@example.org", "x@spam.test", "--kind", "blocked")
    assert [s["pattern"] for s in remote("spam", "senders", "list", "alice@example.org")] == [
        "x@spam.test"]
    assert remote("queue", "list") == [] and remote("quarantine", "list") == []
    assert {t["name"] for t in remote("token", "list")} == {"cli"}
    assert remote("audit", "verify")["valid"] is True
    actions = {r["action"] for r in remote("audit", "list", "--actor", "cli:" + getpass.getuser())}
    assert "token.create" in actions
    assert remote("status")["principals"]["group"] == 1
    queued = asyncio.run(_enqueue(cli.data))
    assert remote("queue", "show", str(queued.id))["sender"] == "alice@example.org"
    remote("queue", "delete", str(queued.id))
    assert _record_of_any(cli, "queue.delete")["actor"].startswith("token:")
