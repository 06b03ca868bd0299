"""Console pages: forms with validation, role limits, DNS records, queue, audit export."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.integration.console_env import PASSWORD, ConsoleEnv, csrf_of, login, open_console
from tidings.admin.auth import local_operator
from tidings.model.directory import Role
from tidings.web.console.charts import bar_chart


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[ConsoleEnv]:
    async for opened in open_console(tmp_path):
        yield opened


@contextlib.asynccontextmanager
async def signed_in(env: ConsoleEnv, address: str, role: Role) -> AsyncIterator[httpx.AsyncClient]:
    secret = await env.admin(address, role)
    async with env.client() as client:
        assert (await login(client, address, secret)).status_code == 303
        yield client


async def post_form(client: httpx.AsyncClient, page: str, action: str,
                    data: dict[str, str]) -> httpx.Response:  # fmt: skip
    """Submit a form the way a browser does: the page's CSRF token, our Origin."""
    token = csrf_of((await client.get(page)).text)
    return await client.post(action, data={**data, "csrf": token},
                             headers={"Origin": "http://admin.test"})  # fmt: skip


async def test_create_user_form_validates_and_creates_through_the_service(
    env: ConsoleEnv,
) -> None:
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        bad = await post_form(client, "/admin/users/new", "/admin/users/new",
                              {"address": "not an address", "role": "user"})  # fmt: skip
        assert bad.status_code == 422
        assert 'aria-invalid="true"' in bad.text
        assert 'value="not an address"' in bad.text  # the form keeps what was typed
        differ = await post_form(client, "/admin/users/new", "/admin/users/new", {
            "address": "bob@example.org", "role": "user", "password": "one long password",
            "password2": "another password"})  # fmt: skip
        assert differ.status_code == 422
        assert "the two passwords differ" in differ.text
        quota = await post_form(client, "/admin/users/new", "/admin/users/new",
                                {"address": "bob@example.org", "quota_mib": "lots"})  # fmt: skip
        assert "whole number of MiB" in quota.text
        made = await post_form(client, "/admin/users/new", "/admin/users/new", {
            "address": "Bob@Example.org", "display_name": "Bob", "role": "user",
            "quota_mib": "100", "password": "", "password2": ""})  # fmt: skip
        assert made.status_code == 201
        assert "generated password, shown only now" in made.text
        again = await post_form(client, "/admin/users/new", "/admin/users/new",
                                {"address": "bob@example.org", "role": "user"})  # fmt: skip
        assert again.status_code == 409
    bob = await env.store.directory.find_principal("bob@example.org")
    assert (bob.display_name, bob.quota_bytes) == ("Bob", 100 * 1024 * 1024)
    records, _ = await env.store.audit.list()
    created = [r for r in records if r.event.action == "principal.create"]
    assert created[-1].event.actor == "root@example.org"
    assert created[-1].event.object_id == "bob@example.org"


async def test_edit_reset_password_and_delete_a_user(env: ConsoleEnv) -> None:
    operator = local_operator("test")
    await env.service.directory.create_user(operator, "carl@example.org", password="x" * 12)
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        page = "/admin/users/carl@example.org"
        saved = await post_form(client, page, page, {"display_name": "Carl C", "role": "user",
                                                     "quota_mib": ""})  # fmt: skip
        assert saved.status_code == 303
        assert "Changes saved." in (await client.get(saved.headers["location"])).text
        carl = await env.store.directory.find_principal("carl@example.org")
        assert carl.display_name == "Carl C"
        assert carl.enabled is False  # the checkbox was not sent
        reset = await post_form(client, page, page + "/password", {"password": ""})
        assert "The new password, shown only now" in reset.text
        gone = await post_form(client, page, page + "/delete", {})
        assert gone.status_code == 303
        assert (await client.get(page)).status_code == 404
    actions = [r.event.action for r in (await env.store.audit.list())[0]]
    assert actions[-3:] == ["principal.update", "principal.password_reset", "principal.delete"]


async def test_user_list_searches_and_pages(env: ConsoleEnv) -> None:
    operator = local_operator("test")
    await env.service.directory.create_domain(operator, "many.example")
    for n in range(30):
        await env.service.directory.create_user(operator, f"u{n:02d}@many.example",
                                                password="x" * 12)  # fmt: skip
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        first = await client.get("/admin/users", params={"q": "many.example"})
        assert "30 users" in first.text
        assert "u00@many.example" in first.text
        assert "u29@many.example" not in first.text
        assert "Page 1 of 2" in first.text
        second = await client.get("/admin/users", params={"q": "many.example", "page": "2"})
        assert "u29@many.example" in second.text
        one = await client.get("/admin/users", params={"q": "u07"})
        assert "1 user matching" in one.text


async def test_a_domain_admin_sees_only_its_domain(env: ConsoleEnv) -> None:
    operator = local_operator("test")
    await env.service.directory.create_domain(operator, "other.example")
    await env.service.directory.create_user(operator, "secret@other.example", password="x" * 12)
    await env.service.directory.create_user(operator, "mine@example.org", password="x" * 12)
    async with signed_in(env, "boss@example.org", Role.DOMAIN_ADMIN) as client:
        listing = await client.get("/admin/users")
        assert "mine@example.org" in listing.text
        assert "secret@other.example" not in listing.text
        assert (await client.get("/admin/users/secret@other.example")).status_code == 404
        domains = await client.get("/admin/domains")
        assert "other.example" not in domains.text
        assert (await client.get("/admin/domains/other.example")).status_code == 404
        assert (await client.get("/admin/audit")).status_code == 403
        refused = await post_form(client, "/admin/users/new", "/admin/users/new",
                                  {"address": "x@other.example", "role": "user"})  # fmt: skip
        assert refused.status_code == 403


async def test_helpdesk_cannot_delete(env: ConsoleEnv) -> None:
    operator = local_operator("test")
    await env.service.directory.create_user(operator, "dora@example.org", password="x" * 12)
    async with signed_in(env, "help@example.org", Role.HELPDESK) as client:
        page = await client.get("/admin/users/dora@example.org")
        assert "Reset password" in page.text
        assert "/delete" not in page.text  # no button offered...
        refused = await post_form(client, "/admin/users/dora@example.org",
                                  "/admin/users/dora@example.org/delete", {})  # fmt: skip
        assert refused.status_code == 403  # ...and the service refuses anyway
    assert (await env.store.directory.find_principal("dora@example.org")).enabled


async def test_groups_and_members(env: ConsoleEnv) -> None:
    operator = local_operator("test")
    await env.service.directory.create_user(operator, "eve@example.org", password="x" * 12)
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        made = await post_form(client, "/admin/groups", "/admin/groups",
                               {"address": "team@example.org", "display_name": "Team"})  # fmt: skip
        assert made.headers["location"] == "/admin/groups/team@example.org"
        page = "/admin/groups/team@example.org"
        await post_form(client, page, page + "/members", {"member": "eve@example.org"})
        assert "eve@example.org" in (await client.get(page)).text
        missing = await post_form(client, page, page + "/members", {"member": "nobody@x.org"})
        assert missing.status_code == 404
        await post_form(client, page, page + "/members/remove", {"member": "eve@example.org"})
        assert "No members." in (await client.get(page)).text


async def test_domain_page_lists_copyable_dns_records(env: ConsoleEnv) -> None:
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        made = await post_form(client, "/admin/domains", "/admin/domains", {"name": "New.Example"})
        assert made.headers["location"] == "/admin/domains/new.example"
        page = (await client.get("/admin/domains/new.example")).text
        assert "_dmarc.new.example." in page
        assert "10 mail.example.org." in page
        assert page.count('class="copy"') >= 8
        invalid = await post_form(client, "/admin/domains", "/admin/domains", {"name": "a b"})
        assert invalid.status_code == 422
        assert 'role="alert"' in invalid.text


async def test_queue_retry_and_delete(env: ConsoleEnv) -> None:
    blob = await env.store.blobs.put(b"Subject: hi\r\n\r\nhello\r\n")
    queued = (await env.store.queue.enqueue("root@example.org", ["far@remote.example"], blob)).id
    await env.store.queue.record_attempt(
        queued, "far@remote.example", delivered=False, permanent=False, error="451 later",
        next_attempt_at=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        page = await client.get("/admin/queue")
        assert "far@remote.example" in page.text
        assert "451 later" in page.text
        retry = await post_form(client, "/admin/queue", f"/admin/queue/{queued}/retry", {})
        assert retry.status_code == 303
        delete = await post_form(client, "/admin/queue", f"/admin/queue/{queued}/delete", {})
        assert delete.status_code == 303
        assert "The queue is empty." in (await client.get("/admin/queue")).text
    actions = [r.event.action for r in (await env.store.audit.list())[0]]
    assert actions[-2:] == ["queue.retry", "queue.delete"]


async def test_audit_viewer_filters_and_exports_csv_and_json(env: ConsoleEnv) -> None:
    operator = local_operator("test")
    await env.service.directory.create_domain(operator, "audited.example")
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        page = await client.get("/admin/audit", params={"action": "domain."})
        assert "audited.example" in page.text
        assert "console.login" not in page.text
        exported = await client.get("/admin/audit/export", params={"format": "csv"})
        assert "attachment" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {"domain.create", "console.login"} <= {r["action"] for r in rows}
        wanted = {"format": "json", "action": "domain.create"}
        as_json = await client.get("/admin/audit/export", params=wanted)
        records = json.loads(as_json.text)
        assert {r["object_id"] for r in records} == {"audited.example", "example.org"}
        assert all(len(r["hash"]) == 64 for r in records)
        today = datetime.now(UTC).date().isoformat()
        dated = await client.get("/admin/audit", params={"since": today, "until": today})
        assert "audited.example" in dated.text  # "until" a date includes that whole day
        bad = await client.get("/admin/audit", params={"since": "yesterday"})
        assert bad.status_code == 422


async def test_dashboard_and_status_show_live_figures(env: ConsoleEnv) -> None:
    async with signed_in(env, "root@example.org", Role.GLOBAL_ADMIN) as client:
        page = await client.get("/admin/")
        assert "<svg" in page.text
        assert 'data-live="/admin/status.json"' in page.text
        figures = (await client.get("/admin/status.json")).json()
        assert figures["domains"] == 1
        assert figures["principals"]["user"] == 1
        assert figures["storage_bytes"] == 0
        assert len(figures["stored_per_hour"]) == 24
        assert isinstance(figures["connections"], dict)


async def test_static_assets_ship_inside_the_package(env: ConsoleEnv) -> None:
    async with env.client() as client:
        js = await client.get("/admin/static/console.js")
        css = await client.get("/admin/static/console.css")
    assert js.status_code == css.status_code == 200
    assert "liveDashboard" in js.text
    assert ":focus-visible" in css.text


async def test_api_status_reports_connections_storage_and_hourly_figures(
    env: ConsoleEnv,
) -> None:
    await env.admin("root@example.org", Role.GLOBAL_ADMIN, totp=False)
    await env.admin("boss@example.org", Role.DOMAIN_ADMIN, totp=False)
    async with env.client() as client:
        root = await client.get("/api/v1/status", auth=("root@example.org", PASSWORD))
        boss = await client.get("/api/v1/status", auth=("boss@example.org", PASSWORD))
    figures = root.json()
    assert figures["storage_bytes"] == 0
    assert figures["stored_last_24h"] == 0
    assert [h["messages"] for h in figures["stored_per_hour"]] == [0] * 24
    assert isinstance(figures["connections"], dict)
    # Server-wide figures are not a domain admin's business.
    assert boss.json()["storage_bytes"] is None
    assert boss.json()["stored_per_hour"] == []


def test_bar_chart_scales_to_the_largest_value_and_describes_itself() -> None:
    chart = bar_chart([("00:00", 0), ("01:00", 5), ("02:00", 10)], width=300, height=100,
                      what="messages")  # fmt: skip
    heights = [bar.height for bar in chart.bars]
    assert heights == [1.0, 49.5, 99.0]  # empty slots keep a 1px stub
    assert [bar.x for bar in chart.bars] == [1.0, 101.0, 201.0]
    assert chart.summary == "messages: 15 in total, at most 10 per bar"
    flat = bar_chart([("a", 0), ("b", 0)])
    assert {bar.height for bar in flat.bars} == {1.0}
