"""Every admin API endpoint as a global admin, on SQLite and PostgreSQL, with the
audit records each change leaves."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.admin_api_env import PASSWORD, AdminEnv, basic, open_env


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AdminEnv]:
    async for opened in open_env(request.param, tmp_path):
        yield opened


async def last_audit(env: AdminEnv) -> dict[str, Any]:
    reply = await env.client.get("/api/v1/audit", headers=env.root, params={"limit": 1000})
    assert reply.status_code == 200
    return reply.json()["items"][-1]


async def test_domain_lifecycle_with_dns_records_and_audit(env: AdminEnv) -> None:
    c, h = env.client, env.root
    created = await c.post("/api/v1/domains", headers=h, json={"name": "Example.NET"})
    assert created.status_code == 201
    assert created.json()["name"] == "example.net"
    record = await last_audit(env)
    assert (record["action"], record["object_id"]) == ("domain.create", "example.net")
    assert record["actor"].endswith(":root@example.org")
    assert record["actor_address"] == "root@example.org"
    assert record["remote_ip"] == "198.51.100.9"
    assert record["after"]["name"] == "example.net"

    listed = (await c.get("/api/v1/domains", headers=h, params={"q": "net"})).json()
    assert [d["name"] for d in listed["items"]] == ["example.net"]
    assert listed["total"] == 1
    assert (await c.get("/api/v1/domains/example.net", headers=h)).json()["name"] == "example.net"

    dns = (await c.get("/api/v1/domains/example.net/dns", headers=h)).json()
    by_type = {(r["type"], r["name"]) for r in dns["records"]}
    assert ("MX", "example.net.") in by_type
    assert ("TXT", "_dmarc.example.net.") in by_type
    assert ("TXT", "_mta-sts.example.net.") in by_type
    assert ("SRV", "_imaps._tcp.example.net.") in by_type
    assert ("SRV", "_autodiscover._tcp.example.net.") in by_type
    assert ("TXT", "tidings._domainkey.example.net.") in by_type
    assert any(r["value"] == "10 mail.example.org." for r in dns["records"])

    duplicate = await c.post("/api/v1/domains", headers=h, json={"name": "example.net"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"
    assert (await c.delete("/api/v1/domains/example.net", headers=h)).status_code == 204
    assert (await last_audit(env))["before"]["name"] == "example.net"
    assert (await c.get("/api/v1/domains/example.net", headers=h)).status_code == 404


async def test_user_create_edit_disable_quota_and_delete(env: AdminEnv) -> None:
    c, h = env.client, env.root
    created = await c.post(
        "/api/v1/users",
        headers=h,
        json={"address": "Alice@Example.org", "display_name": "Alice", "quota_bytes": 1000},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["address"] == "alice@example.org"
    assert len(body["password"]) >= 12  # generated and shown once
    record = await last_audit(env)
    assert record["action"] == "principal.create"
    assert "password" not in record["after"]

    edited = await c.patch(
        "/api/v1/principals/alice@example.org",
        headers=h,
        json={"display_name": "Alice A.", "enabled": False, "quota_bytes": None},
    )
    assert edited.status_code == 200
    assert (edited.json()["display_name"], edited.json()["enabled"]) == ("Alice A.", False)
    assert edited.json()["quota_bytes"] is None
    record = await last_audit(env)
    assert record["before"]["enabled"] is True and record["after"]["enabled"] is False
    assert record["before"]["quota_bytes"] == 1000

    shown = (await c.get("/api/v1/principals/alice@example.org", headers=h)).json()
    assert shown["aliases"] == []
    assert (await c.delete("/api/v1/principals/alice@example.org", headers=h)).status_code == 204
    assert (await last_audit(env))["action"] == "principal.delete"
    gone = await c.get("/api/v1/principals/alice@example.org", headers=h)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


async def test_password_reset_lets_the_user_log_in_with_the_new_one(env: AdminEnv) -> None:
    c, h = env.client, env.root
    await c.post("/api/v1/users", headers=h, json={"address": "bob@example.org"})
    reset = await c.post(
        "/api/v1/principals/bob@example.org/password", headers=h, json={"password": PASSWORD}
    )
    assert reset.status_code == 200
    assert "password" not in reset.json()
    record = await last_audit(env)
    assert (record["action"], record["before"], record["after"]) == (
        "principal.password_reset",
        None,
        None,
    )
    assert await env.service.auth.authenticator.verify_password("bob@example.org", PASSWORD)
    generated = await c.post("/api/v1/principals/bob@example.org/password", headers=h)
    assert len(generated.json()["password"]) >= 12


async def test_principal_list_paginates_and_filters(env: AdminEnv) -> None:
    c, h = env.client, env.root
    for n in range(5):
        await c.post("/api/v1/users", headers=h, json={"address": f"u{n}@example.org"})
    await c.post(
        "/api/v1/principals", headers=h, json={"kind": "group", "address": "g@example.org"}
    )
    listed = await c.get(
        "/api/v1/principals", headers=h, params={"kind": "user", "q": "u", "offset": 1, "limit": 2}
    )
    body = listed.json()
    assert (body["total"], body["offset"], body["limit"]) == (5, 1, 2)
    assert [p["address"] for p in body["items"]] == ["u1@example.org", "u2@example.org"]
    groups = (await c.get("/api/v1/principals", headers=h, params={"kind": "group"})).json()
    assert [p["address"] for p in groups["items"]] == ["g@example.org"]
    other = await c.get("/api/v1/principals", headers=h, params={"domain": "example.com"})
    assert other.json()["total"] == 0


async def test_aliases_members_and_app_passwords(env: AdminEnv) -> None:
    c, h = env.client, env.root
    await c.post("/api/v1/users", headers=h, json={"address": "carol@example.org"})
    await c.post(
        "/api/v1/principals", headers=h, json={"kind": "group", "address": "team@example.org"}
    )
    p = "/api/v1/principals/carol@example.org"
    assert (
        await c.post(p + "/aliases", headers=h, json={"alias": "c@example.org"})
    ).status_code == 201
    assert (await c.get(p + "/aliases", headers=h)).json()["items"] == ["c@example.org"]
    assert (await c.delete(p + "/aliases/c@example.org", headers=h)).status_code == 204
    assert (await c.delete(p + "/aliases/c@example.org", headers=h)).status_code == 404

    g = "/api/v1/principals/team@example.org"
    added = await c.post(g + "/members", headers=h, json={"member": "carol@example.org"})
    assert added.status_code == 201
    assert (await last_audit(env))["after"] == {"member": "carol@example.org"}
    members = (await c.get(g + "/members", headers=h)).json()
    assert [m["address"] for m in members["items"]] == ["carol@example.org"]
    assert (await c.get(g, headers=h)).json()["members"] == ["carol@example.org"]
    assert (await c.delete(g + "/members/carol@example.org", headers=h)).status_code == 204

    created = await c.post(p + "/app-passwords", headers=h, json={"label": "phone"})
    assert created.status_code == 201
    secret, ap_id = created.json()["password"], created.json()["id"]
    assert await env.service.auth.authenticator.verify_password("carol@example.org", secret)
    assert "password" not in str((await last_audit(env))["after"])
    listed = (await c.get(p + "/app-passwords", headers=h)).json()
    assert [a["label"] for a in listed["items"]] == ["phone"]
    assert (await c.delete(f"{p}/app-passwords/{ap_id}", headers=h)).status_code == 204
    assert (await c.delete(f"{p}/app-passwords/{ap_id}", headers=h)).status_code == 404


async def test_shared_mailbox_permissions_and_resource_policy(env: AdminEnv) -> None:
    c, h = env.client, env.root
    await c.post("/api/v1/users", headers=h, json={"address": "dan@example.org"})
    await c.post(
        "/api/v1/principals", headers=h, json={"kind": "shared", "address": "info@example.org"}
    )
    await c.post(
        "/api/v1/principals", headers=h, json={"kind": "room", "address": "room1@example.org"}
    )
    s = "/api/v1/principals/info@example.org"
    granted = await c.post(
        s + "/permissions", headers=h, json={"grantee": "dan@example.org", "permission": "send_as"}
    )
    assert granted.status_code == 201
    mine = (await c.get("/api/v1/principals/dan@example.org/permissions", headers=h)).json()
    assert mine["items"] == [{"owner": "info@example.org", "permission": "send_as"}]
    assert (
        await c.delete(s + "/permissions/dan@example.org/send_as", headers=h)
    ).status_code == 204
    mine = (await c.get("/api/v1/principals/dan@example.org/permissions", headers=h)).json()
    assert mine["items"] == []

    r = "/api/v1/principals/room1@example.org/resource-policy"
    assert (await c.get(r, headers=h)).json()["auto_accept"] is True
    changed = await c.put(
        r, headers=h, json={"auto_accept": False, "capacity": 8, "bookers": ["dan@example.org"]}
    )
    assert changed.status_code == 200
    policy = (await c.get(r, headers=h)).json()
    assert (policy["auto_accept"], policy["capacity"], len(policy["bookers"])) == (False, 8, 1)
    assert (await last_audit(env))["after"]["capacity"] == 8
    not_room = await c.get(s + "/resource-policy", headers=h)
    assert not_room.status_code == 422


async def test_queue_list_retry_and_delete(env: AdminEnv) -> None:
    c, h = env.client, env.root
    blob = await env.store.blobs.put(b"Subject: hi\r\n\r\nhello\r\n")
    queued = await env.store.queue.enqueue("root@example.org", ["x@remote.test"], blob)
    listed = (await c.get("/api/v1/queue", headers=h)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["recipients"][0]["address"] == "x@remote.test"
    assert (await c.get(f"/api/v1/queue/{queued.id}", headers=h)).json()["id"] == queued.id
    assert (await c.post(f"/api/v1/queue/{queued.id}/retry", headers=h)).status_code == 202
    assert (await last_audit(env))["action"] == "queue.retry"
    assert (await c.delete(f"/api/v1/queue/{queued.id}", headers=h)).status_code == 204
    assert (await last_audit(env))["before"]["recipients"] == ["x@remote.test"]
    assert (await c.get(f"/api/v1/queue/{queued.id}", headers=h)).status_code == 404
    assert (await c.get("/api/v1/queue/abc", headers=h)).status_code == 404


async def test_status_counts_principals_queue_and_audit(env: AdminEnv) -> None:
    c, h = env.client, env.root
    await c.post(
        "/api/v1/principals", headers=h, json={"kind": "group", "address": "g@example.org"}
    )
    status = (await c.get("/api/v1/status", headers=h)).json()
    assert status["domains"] == 1
    assert status["principals"]["user"] == 1 and status["principals"]["group"] == 1
    assert status["queue_messages"] == 0
    assert status["audit_records"] >= 2


async def test_tokens_are_created_listed_used_and_revoked(env: AdminEnv) -> None:
    c, h = env.client, env.root
    created = await c.post("/api/v1/tokens", headers=h, json={"name": "ci", "role": "auditor"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("tdg_")
    assert token not in str(await last_audit(env))
    reads = await c.get("/api/v1/audit", headers=env.bearer(token))
    assert reads.status_code == 200
    denied = await c.post("/api/v1/domains", headers=env.bearer(token), json={"name": "x.org"})
    assert denied.status_code == 403
    ids = [t["id"] for t in (await c.get("/api/v1/tokens", headers=h)).json()["items"]]
    assert created.json()["id"] in ids
    assert (await c.delete(f"/api/v1/tokens/{created.json()['id']}", headers=h)).status_code == 204
    revoked = await c.get("/api/v1/audit", headers=env.bearer(token))
    assert revoked.status_code == 401
    assert "Bearer" in revoked.headers["www-authenticate"]


async def test_basic_auth_works_for_admins_and_is_refused_for_bad_passwords(
    env: AdminEnv,
) -> None:
    c = env.client
    ok = await c.get("/api/v1/status", headers=basic("root@example.org", PASSWORD))
    assert ok.status_code == 200
    bad = await c.get("/api/v1/status", headers=basic("root@example.org", "wrong"))
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthenticated"
    assert (await c.get("/api/v1/status")).status_code == 401
    garbled = await c.get("/api/v1/status", headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 401


async def test_validation_errors_name_the_field(env: AdminEnv) -> None:
    c, h = env.client, env.root
    missing = await c.post("/api/v1/users", headers=h, json={})
    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "address")
    wrong_type = await c.post("/api/v1/users", headers=h, json={"address": 5})
    assert (wrong_type.status_code, wrong_type.json()["error"]["field"]) == (422, "address")
    bad_role = await c.post(
        "/api/v1/users", headers=h, json={"address": "a@example.org", "role": "king"}
    )
    assert bad_role.json()["error"]["field"] == "role"
    bad_address = await c.post("/api/v1/users", headers=h, json={"address": "not an address"})
    assert bad_address.status_code == 422
    assert bad_address.json()["error"]["field"] == "address"
    unknown = await c.post("/api/v1/domains", headers=h, json={"name": "a.org", "x": 1})
    assert unknown.json()["error"] == {
        "code": "unknown_field",
        "message": "unknown body field x",
        "field": "x",
    }
    malformed = await c.post("/api/v1/domains", headers=h, content=b"{not json")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed")
    big_limit = await c.get("/api/v1/principals", headers=h, params={"limit": 5000})
    assert (big_limit.status_code, big_limit.json()["error"]["field"]) == (422, "limit")
    bad_int = await c.get("/api/v1/principals", headers=h, params={"offset": "x"})
    assert bad_int.json()["error"]["field"] == "offset"
    bad_since = await c.get("/api/v1/audit", headers=h, params={"since": "yesterday"})
    assert bad_since.json()["error"]["field"] == "since"
    nowhere = await c.get("/api/v1/nothing-here", headers=h)
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"


async def test_audit_log_filters_exports_csv_and_verifies(env: AdminEnv) -> None:
    c, h = env.client, env.root
    await c.post("/api/v1/domains", headers=h, json={"name": "example.com"})
    await c.post("/api/v1/users", headers=h, json={"address": "e@example.com"})
    users = (await c.get("/api/v1/audit", headers=h, params={"action": "principal."})).json()
    assert [r["object_id"] for r in users["items"]] == ["e@example.com"]
    # Hash chain: every record links to the one before.
    everything = (await c.get("/api/v1/audit", headers=h)).json()["items"]
    for earlier, later in itertools.pairwise(everything):
        assert later["prev_hash"] == earlier["hash"]
    csv = await c.get("/api/v1/audit", headers=h, params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("id,at,actor")
    assert len(lines) == len(everything) + 1
    assert (await c.get("/api/v1/audit/verify", headers=h)).json() == {
        "valid": True,
        "first_bad_id": None,
    }
