"""Sharing calendars and address books through the admin API and the CLI: admins
(in their scope) and owners grant, change and revoke levels, each change is audited,
and the sharee finds the collection in its DAV home set."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tests.integration.admin_api_env import basic
from tests.integration.test_cli_parity import CLI, _remote, cli, server
from tidings.admin.service import AdminService
from tidings.cli.common import load_config, opened_store
from tidings.dav.router import routes
from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.model.dav import CollectionKind
from tidings.model.directory import PrincipalKind, Role
from tidings.store import open_store
from tidings.store.services import AuditFilter, Store
from tidings.web.api import api_mount
from tidings.web.app import HTTPServer, create_app

__all__ = ["cli", "server"]

PASSWORD = "correct horse battery"
ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
TEAM = "team@example.test"
SHARES = f"/api/v1/principals/{ALICE}/collections/calendar/default/shares"
CAL = f"/dav/calendars/{ALICE}/default/"
PROPFIND = """<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:resourcetype/><D:current-user-privilege-set/></D:prop></D:propfind>"""


@dataclass
class Env:
    url: str
    store: Store
    service: AdminService
    tokens: dict[str, str]  # address -> bearer token (admins)

    def client(self, who: str) -> httpx.AsyncClient:
        """An HTTP client acting as `who`: a token for admins, Basic for users."""
        token = self.tokens.get(who)
        headers = {"Authorization": f"Bearer {token}"} if token else basic(who, PASSWORD)
        return httpx.AsyncClient(base_url=self.url, headers=headers)

    async def audit(self, action: str) -> list[dict[str, object]]:
        records, _ = await self.store.audit.list(AuditFilter(action=action), limit=100)
        return [
            {"actor": e.actor, "object_id": e.object_id, "before": e.before, "after": e.after}
            for e in (r.event for r in records)
        ]

    async def home(self, user: str) -> str:
        """The user's calendar home set, PROPFIND Depth 1, over HTTP Basic."""
        async with httpx.AsyncClient(base_url=self.url, auth=(user, PASSWORD)) as dav:
            answer = await dav.request(
                "PROPFIND", f"/dav/calendars/{user}/", content=PROPFIND, headers={"Depth": "1"}
            )
        assert answer.status_code == 207, answer.text
        return answer.text


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    opened = await open_store(
        f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs", durability="off"
    )
    store = cast(Store, opened)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    directory_admin = DirectoryAdmin(store.directory, hasher, scram_iterations=4096)
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    service = AdminService(
        directory_admin, store.queue, store.audit, store.admin_access, auth,
        hostname="mail.example.test", dav=store.dav,
    )  # fmt: skip
    for domain in ("example.test", "other.test"):
        await directory_admin.add_domain(domain)
    roles = {"root@example.test": Role.GLOBAL_ADMIN, "da@other.test": Role.DOMAIN_ADMIN,
             "help@example.test": Role.HELPDESK, "audit@example.test": Role.AUDITOR,
             ALICE: Role.USER, BOB: Role.USER, CAROL: Role.USER}  # fmt: skip
    tokens = {}
    for address, role in roles.items():
        principal, _ = await directory_admin.add_user(address, password=PASSWORD, role=role)
        if role is not Role.USER:
            actor = await service.auth.actor(
                principal, role=role, name=principal.name, remote_ip=None, via="test"
            )
            _, tokens[address] = await service.operations.create_token(actor, "test")
    team = await store.directory.create_principal(PrincipalKind.GROUP, TEAM)
    await store.directory.add_member(team.id, (await store.directory.find_principal(CAROL)).id)

    async def healthy() -> None:
        return None

    app = create_app(healthy, registry=CollectorRegistry(),
                     routes=[api_mount(service), *routes(store.dav, store.directory, auth)])
    http = HTTPServer(app, name="http", host="127.0.0.1", port=0, grace_seconds=1)
    http.start()
    host, port = http.bound
    try:
        yield Env(f"http://{host}:{port}", store, service, tokens)
    finally:
        await http.stop()
        await opened.close()


async def test_admin_shares_changes_and_revokes_with_audit_and_the_home_set_follows(
    env: Env,
) -> None:
    async with env.client("root@example.test") as root:
        made = await root.put(f"{SHARES}/{BOB}", json={"level": "read"})
        assert made.status_code == 200, made.text
        assert made.json() == {"owner": ALICE, "kind": "calendar", "collection": "default",
                               "grantee": BOB, "level": "read"}  # fmt: skip
        listed = (await root.get(SHARES)).json()
        assert listed["items"] == [{"grantee": BOB, "grantee_kind": "user", "level": "read"}]
        assert f"<D:href>{CAL}</D:href>" in await env.home(BOB)
        assert CAL not in await env.home(CAROL)

        changed = await root.put(f"{SHARES}/{BOB}", json={"level": "read_write"})
        assert changed.status_code == 200
        shares = await env.audit("collection.share")
        assert [(r["before"], r["after"]) for r in shares] == [
            (None, {"grantee": BOB, "level": "read"}),
            ({"grantee": BOB, "level": "read"}, {"grantee": BOB, "level": "read_write"}),
        ]
        assert all(str(r["actor"]).startswith("token:") for r in shares)
        assert all(str(r["actor"]).endswith(":root@example.test") for r in shares)
        assert shares[0]["object_id"] == f"{ALICE}/calendar/default"
        home = await env.home(BOB)
        shared_part = home.split(f"<D:href>{CAL}</D:href>")[1].split("</D:response>")[0]
        assert "write-content" in shared_part

        removed = await root.delete(f"{SHARES}/{BOB}")
        assert removed.status_code == 204
        assert (await root.get(SHARES)).json()["items"] == []
        assert CAL not in await env.home(BOB)
        unshares = await env.audit("collection.unshare")
        assert [(r["before"], r["after"]) for r in unshares] == [
            ({"grantee": BOB, "level": "read_write"}, None)]
        again = await root.delete(f"{SHARES}/{BOB}")
        assert again.status_code == 404
        assert len(await env.audit("collection.unshare")) == 1


async def test_owner_shares_with_a_group_whose_members_see_it(env: Env) -> None:
    async with env.client(ALICE) as alice:
        made = await alice.put(f"{SHARES}/{TEAM}", json={"level": "free_busy"})
        assert made.status_code == 200, made.text
        assert (await alice.get(SHARES)).json()["items"] == [
            {"grantee": TEAM, "grantee_kind": "group", "level": "free_busy"}]
    assert f"<D:href>{CAL}</D:href>" in await env.home(CAROL)
    record = (await env.audit("collection.share"))[0]
    assert record["actor"] == ALICE and record["after"] == {"grantee": TEAM, "level": "free_busy"}
    # The address book too; free/busy makes no sense there.
    book = f"/api/v1/principals/{ALICE}/collections/addressbook/contacts/shares/{BOB}"
    async with env.client(ALICE) as alice:
        assert (await alice.put(book, json={"level": "free_busy"})).status_code == 422
        assert (await alice.put(book, json={"level": "read"})).status_code == 200


async def test_others_can_neither_list_nor_change_a_collection_they_do_not_manage(
    env: Env,
) -> None:
    async with env.client("root@example.test") as root:
        assert (await root.put(f"{SHARES}/{BOB}", json={"level": "read_write"})).status_code == 200
    # Bob sees the calendar (it is shared with him) but may not manage it: 403; for
    # the others it does not exist (404), whatever their admin role outside its scope.
    expected = {BOB: 403, CAROL: 404, "da@other.test": 404}
    for who, status in expected.items():
        async with env.client(who) as other:
            assert (await other.get(SHARES)).status_code == status, who
            put = await other.put(f"{SHARES}/{CAROL}", json={"level": "read"})
            assert put.status_code == status, who
            assert "read_write" not in put.text
            assert (await other.delete(f"{SHARES}/{BOB}")).status_code == status, who
    for reader in ("audit@example.test", "help@example.test"):  # roles that only read here
        async with env.client(reader) as admin:
            assert (await admin.get(SHARES)).json()["total"] == 1
            refused = await admin.put(f"{SHARES}/{CAROL}", json={"level": "read"})
            assert refused.status_code == 403, reader
            assert (await admin.delete(f"{SHARES}/{BOB}")).status_code == 403, reader
    assert len(await env.audit("collection.share")) == 1
    assert CAL not in await env.home(CAROL)


async def test_bad_kind_level_or_grantee_is_refused(env: Env) -> None:
    async with env.client("root@example.test") as root:
        wrong_kind = f"/api/v1/principals/{ALICE}/collections/schedule-inbox/inbox/shares"
        assert (await root.get(wrong_kind)).status_code == 404
        bad_level = await root.put(f"{SHARES}/{BOB}", json={"level": "owner"})
        assert bad_level.status_code == 422 and bad_level.json()["error"]["field"] == "level"
        assert (await root.put(f"{SHARES}/nobody@example.test",
                               json={"level": "read"})).status_code == 404  # fmt: skip
        assert (await root.put(f"{SHARES}/{ALICE}", json={"level": "read"})).status_code == 422
        missing = f"/api/v1/principals/{ALICE}/collections/calendar/nope/shares"
        assert (await root.get(missing)).status_code == 404
    assert await env.audit("collection.share") == []


# --- the CLI -------------------------------------------------------------------------
async def _shared_with(data: Path, grantee: str) -> list[str]:
    settings = load_config(argparse.Namespace(config=None, data=data))
    async with opened_store(settings) as store:
        principal = await store.directory.find_principal(grantee)
        found = await store.dav.shared_collections(principal, CollectionKind.CALENDAR)
        return [c.name for c in found]


def test_cli_shares_lists_and_unshares_with_audit(cli: CLI) -> None:
    cli("user", "add", "bob@example.org")
    made = cli.json("calendar", "share", "alice@example.org", "default", "bob@example.org",
                    "read")  # fmt: skip
    assert made["level"] == "read" and made["grantee"] == "bob@example.org"
    assert cli.json("calendar", "shares", "alice@example.org", "default") == [
        {"grantee": "bob@example.org", "grantee_kind": "user", "level": "read"}]
    assert asyncio.run(_shared_with(cli.data, "bob@example.org")) == ["default"]
    record = cli.audit("collection.share")[-1]
    assert record["actor"].startswith("cli:")
    assert record["object_id"] == "alice@example.org/calendar/default"
    assert record["after"] == {"grantee": "bob@example.org", "level": "read"}

    cli("calendar", "unshare", "alice@example.org", "default", "bob@example.org")
    assert "not shared" in cli("calendar", "shares", "alice@example.org", "default")
    assert asyncio.run(_shared_with(cli.data, "bob@example.org")) == []
    assert cli.audit("collection.unshare")[-1]["before"]["level"] == "read"
    cli.fails("calendar", "unshare", "alice@example.org", "default", "bob@example.org", code=1)
    assert "invalid choice" in cli.usage_error(
        "calendar", "share", "alice@example.org", "default", "bob@example.org", "owner")
    cli.fails("calendar", "share", "alice@example.org", "nope", "bob@example.org", "read",
              code=1)  # fmt: skip
    cli.fails("calendar", "share", "alice@example.org", "contacts", "bob@example.org",
              "free_busy", "--addressbook", code=2)  # fmt: skip


def test_cli_url_mode_shares_through_the_api(cli: CLI, server: str) -> None:
    cli("user", "add", "bob@example.org")
    shared = json.loads(_remote(cli, server, "calendar", "share", "alice@example.org",
                                "contacts", "bob@example.org", "read_write", "--addressbook",
                                "--json"))  # fmt: skip
    assert shared["kind"] == "addressbook" and shared["level"] == "read_write"
    rows = json.loads(_remote(cli, server, "calendar", "shares", "alice@example.org",
                              "contacts", "--addressbook", "--json"))  # fmt: skip
    assert rows == [{"grantee": "bob@example.org", "grantee_kind": "user",
                     "level": "read_write"}]  # fmt: skip
    record = cli.audit("collection.share")[-1]
    assert record["actor"].startswith("token:")
    assert record["object_id"] == "alice@example.org/addressbook/contacts"
    _remote(cli, server, "calendar", "unshare", "alice@example.org", "contacts",
            "bob@example.org", "--addressbook")  # fmt: skip
    assert cli.json("calendar", "shares", "alice@example.org", "contacts", "--addressbook") == []
