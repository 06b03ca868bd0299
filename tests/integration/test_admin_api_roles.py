"""Each admin role's allowed and forbidden operations through the API (SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.admin_api_env import PASSWORD, AdminEnv, basic, open_env
from tidings.model.directory import Role


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[AdminEnv]:
    async for opened in open_env("sqlite", tmp_path):
        await opened.service.directory.admin.add_domain("example.net")
        await opened.service.directory.admin.add_domain("example.com")
        await opened.service.directory.admin.add_user("plain@example.org", password=PASSWORD)
        await opened.service.directory.admin.add_user("netuser@example.net", password=PASSWORD)
        yield opened


async def audit_count(env: AdminEnv) -> int:
    return int((await env.client.get("/api/v1/audit", headers=env.root)).json()["total"])


async def test_helpdesk_resets_passwords_and_disables_but_deletes_nothing(env: AdminEnv) -> None:
    h = env.bearer(await env.user_with_role("help@example.org", Role.HELPDESK))
    c, p = env.client, "/api/v1/principals/plain@example.org"
    assert (await c.get("/api/v1/principals", headers=h)).status_code == 200
    assert (
        await c.post(p + "/password", headers=h, json={"password": "x" * 12})
    ).status_code == 200
    assert (await c.patch(p, headers=h, json={"enabled": False})).status_code == 200
    created = await c.post("/api/v1/users", headers=h, json={"address": "new@example.org"})
    assert created.status_code == 201
    before = await audit_count(env)
    forbidden = [
        await c.delete(p, headers=h),
        await c.post(
            "/api/v1/users", headers=h, json={"address": "boss@example.org", "role": "global_admin"}
        ),
        await c.post("/api/v1/principals/root@example.org/password", headers=h),
        await c.patch(p, headers=h, json={"display_name": "renamed"}),
        await c.post("/api/v1/domains", headers=h, json={"name": "evil.org"}),
        await c.get("/api/v1/audit", headers=h),
        await c.delete(p + "/aliases/a@example.org", headers=h),
        await c.post("/api/v1/tokens", headers=h, json={"name": "x", "role": "global_admin"}),
    ]
    assert [r.status_code for r in forbidden] == [403] * len(forbidden)
    assert all(r.json()["error"]["code"] == "forbidden" for r in forbidden)
    assert await audit_count(env) == before  # refusals change nothing


async def test_helpdesk_may_retry_but_not_delete_queued_mail(env: AdminEnv) -> None:
    h = env.bearer(await env.user_with_role("help@example.org", Role.HELPDESK))
    blob = await env.store.blobs.put(b"Subject: q\r\n\r\nq\r\n")
    queued = await env.store.queue.enqueue("plain@example.org", ["r@remote.test"], blob)
    assert (await env.client.get("/api/v1/queue", headers=h)).status_code == 200
    assert (await env.client.post(f"/api/v1/queue/{queued.id}/retry", headers=h)).status_code == 202
    assert (await env.client.delete(f"/api/v1/queue/{queued.id}", headers=h)).status_code == 403


async def test_auditor_reads_everything_and_the_audit_log_but_changes_nothing(
    env: AdminEnv,
) -> None:
    h = env.bearer(await env.user_with_role("audit@example.org", Role.AUDITOR))
    c, p = env.client, "/api/v1/principals/plain@example.org"
    readable = (
        "/api/v1/principals",
        p,
        "/api/v1/domains",
        "/api/v1/audit",
        "/api/v1/status",
        "/api/v1/audit/verify",
        "/api/v1/queue",
        "/api/v1/domains/example.com/dns",
    )
    for path in readable:
        assert (await c.get(path, headers=h)).status_code == 200, path
    forbidden = [
        await c.patch(p, headers=h, json={"enabled": False}),
        await c.post(p + "/password", headers=h),
        await c.post("/api/v1/users", headers=h, json={"address": "z@example.org"}),
        await c.post(p + "/aliases", headers=h, json={"alias": "pp@example.org"}),
        await c.delete("/api/v1/domains/example.com", headers=h),
    ]
    assert [r.status_code for r in forbidden] == [403] * len(forbidden)


async def test_domain_admin_sees_and_changes_only_its_domains(env: AdminEnv) -> None:
    h = env.bearer(await env.user_with_role("boss@example.net", Role.DOMAIN_ADMIN))
    c = env.client
    domains = (await c.get("/api/v1/domains", headers=h)).json()
    assert [d["name"] for d in domains["items"]] == ["example.net"]
    people = (await c.get("/api/v1/principals", headers=h)).json()
    assert {p["domain"] for p in people["items"]} == {"example.net"}
    assert (await c.get("/api/v1/principals/plain@example.org", headers=h)).status_code == 404
    assert (await c.get("/api/v1/domains/example.org", headers=h)).status_code == 404
    outside = await c.post("/api/v1/users", headers=h, json={"address": "x@example.org"})
    assert outside.status_code == 403
    inside = await c.post("/api/v1/users", headers=h, json={"address": "x@example.net"})
    assert inside.status_code == 201
    alias_elsewhere = await c.post(
        "/api/v1/principals/x@example.net/aliases", headers=h, json={"alias": "x@example.org"}
    )
    assert alias_elsewhere.status_code == 403
    assert (await c.delete("/api/v1/principals/x@example.net", headers=h)).status_code == 204
    promote = await c.patch(
        "/api/v1/principals/netuser@example.net", headers=h, json={"role": "global_admin"}
    )
    assert promote.status_code == 403
    assert (await c.post("/api/v1/domains", headers=h, json={"name": "n.org"})).status_code == 403
    assert (await c.get("/api/v1/audit", headers=h)).status_code == 403
    assert (await c.get("/api/v1/queue", headers=h)).status_code == 403
    status = (await c.get("/api/v1/status", headers=h)).json()
    assert status["domains"] == 1 and status["principals"]["user"] == 2


async def test_domain_admin_gains_a_domain_granted_by_a_global_admin(env: AdminEnv) -> None:
    h = env.bearer(await env.user_with_role("boss@example.net", Role.DOMAIN_ADMIN))
    c = env.client
    scope = "/api/v1/principals/boss@example.net/admin-domains"
    assert (await c.post(scope, headers=h, json={"domain": "example.com"})).status_code == 403
    assert (
        await c.post(scope, headers=env.root, json={"domain": "example.com"})
    ).status_code == 201
    assert (await c.get(scope, headers=env.root)).json()["items"] == ["example.com"]
    # A new request builds a new actor, which now includes example.com.
    created = await c.post("/api/v1/users", headers=h, json={"address": "y@example.com"})
    assert created.status_code == 201
    assert (await c.delete(scope + "/example.com", headers=env.root)).status_code == 204
    assert (await c.get("/api/v1/principals/y@example.com", headers=h)).status_code == 404


async def test_a_plain_user_authenticates_but_may_do_nothing(env: AdminEnv) -> None:
    reply = await env.client.get("/api/v1/status", headers=basic("plain@example.org", PASSWORD))
    assert reply.status_code == 403


async def test_a_demoted_admins_token_stops_working(env: AdminEnv) -> None:
    token = await env.user_with_role("help@example.org", Role.HELPDESK)
    assert (await env.client.get("/api/v1/status", headers=env.bearer(token))).status_code == 200
    demoted = await env.client.patch(
        "/api/v1/principals/help@example.org", headers=env.root, json={"role": "user"}
    )
    assert demoted.status_code == 200
    assert (await env.client.get("/api/v1/status", headers=env.bearer(token))).status_code == 401


async def test_global_admin_creates_a_token_for_another_admin(env: AdminEnv) -> None:
    await env.user_with_role("help@example.org", Role.HELPDESK)
    made = await env.client.post(
        "/api/v1/tokens", headers=env.root, json={"name": "hd", "principal": "help@example.org"}
    )
    assert made.status_code == 201 and made.json()["role"] == "helpdesk"
    too_high = await env.client.post(
        "/api/v1/tokens",
        headers=env.root,
        json={"name": "hd", "principal": "help@example.org", "role": "global_admin"},
    )
    assert too_high.status_code == 403
    for_user = await env.client.post(
        "/api/v1/tokens", headers=env.root, json={"name": "u", "principal": "plain@example.org"}
    )
    assert (for_user.status_code, for_user.json()["error"]["field"]) == (422, "role")
