"""The quarantine end to end: a message held at SMTP time is listed, shown, released
(delivered to the recipient) or deleted by admins through the API (role checks, audit
records) and through `tidings quarantine ...`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_hygiene_spam import SHOUTY
from tests.integration.test_hygiene_spam_env import ALICE, SpamEnv, start_spam_env
from tests.unit.hygiene.spam.messages import plain
from tidings.admin.service import AdminService
from tidings.cli.main import main
from tidings.delivery.recipients import LocalTarget, ResolvedRecipient
from tidings.delivery.stages import StageInput
from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.hygiene.spam.wiring import quarantine_of
from tidings.model.directory import PrincipalKind, Role
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store import open_store
from tidings.store.services import AuditFilter
from tidings.web.api import api_mount
from tidings.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpamEnv]:
    async for opened in start_spam_env(tmp_path):
        await opened.store.spam.set_rule_weight("SUBJECT_ALL_CAPS", 6.0)  # SHOUTY -> 10
        yield opened


@pytest.fixture
async def api(env: SpamEnv) -> AsyncIterator[tuple[httpx.AsyncClient, AdminService]]:
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    store = env.store
    service = AdminService(
        DirectoryAdmin(store.directory, hasher, scram_iterations=4096), store.queue,
        store.audit, store.admin_access,
        Authenticator(store.directory, hasher=hasher, scram_iterations=4096),
        hostname="mx.example.test", hygiene=store)

    async def healthy() -> None:
        return None

    app = create_app(healthy, routes=[api_mount(service)])
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as client:
        yield client, service


async def token(service: AdminService, address: str, role: Role) -> dict[str, str]:
    domain = address.rsplit("@", 1)[1]
    if domain not in {d.name for d in await service.directory.admin.directory.list_domains()}:
        await service.directory.admin.add_domain(domain)
    principal, _ = await service.directory.admin.add_user(address, password=PASSWORD, role=role)
    actor = await service.auth.actor(principal, role=role, name=principal.name,
                                     remote_ip=None, via="test")
    _, secret = await service.operations.create_token(actor, "test")
    return {"Authorization": f"Bearer {secret}"}


async def test_admins_list_show_and_release_over_the_api_with_roles_and_audit(
    env: SpamEnv, api: tuple[httpx.AsyncClient, AdminService],
) -> None:
    client, service = api
    await asyncio.to_thread(env.send, SHOUTY)
    root = await token(service, "root@example.test", Role.GLOBAL_ADMIN)
    auditor = await token(service, "eve@example.test", Role.AUDITOR)
    stranger = await token(service, "dan@other.test", Role.DOMAIN_ADMIN)

    listed = (await client.get("/api/v1/quarantine", headers=root)).json()
    assert listed["total"] == 1
    [item] = listed["items"]
    assert item["recipients"] == [ALICE] and item["reason"] == "spam" and item["score"] == 10
    shown = (await client.get(f"/api/v1/quarantine/{item['id']}", headers=auditor)).json()
    assert "X-Tidings-Spam-Report:" in shown["headers"] and "Claim at" not in shown["headers"]
    # The auditor may look but not release; a domain admin elsewhere does not see it.
    denied = await client.post(f"/api/v1/quarantine/{item['id']}/release", headers=auditor)
    assert denied.status_code == 403
    assert (await client.get("/api/v1/quarantine", headers=stranger)).json()["total"] == 0
    hidden = await client.post(f"/api/v1/quarantine/{item['id']}/release", headers=stranger)
    assert hidden.status_code == 404

    released = await client.post(f"/api/v1/quarantine/{item['id']}/release", headers=root)
    assert released.status_code == 200 and released.json()["delivered"] == 1
    [raw] = await env.folder(ALICE, "INBOX")
    assert b"X-Tidings-Spam-Score: 10" in raw
    again = await client.post(f"/api/v1/quarantine/{item['id']}/release", headers=root)
    assert again.status_code == 409
    records, _ = await env.store.audit.list(AuditFilter(action="quarantine.release"))
    assert [r.event.actor_address for r in records] == ["root@example.test"]


async def test_sender_lists_and_rules_over_the_api(
    env: SpamEnv, api: tuple[httpx.AsyncClient, AdminService],
) -> None:
    client, service = api
    root = await token(service, "root@example.test", Role.GLOBAL_ADMIN)
    added = await client.post(f"/api/v1/principals/{ALICE}/senders", headers=root,
                              json={"pattern": "remote.example", "kind": "safe"})
    assert added.status_code == 201
    assert (await client.get(f"/api/v1/principals/{ALICE}/senders", headers=root)).json()[
        "items"][0]["pattern"] == "remote.example"
    await asyncio.to_thread(env.send, SHOUTY)  # a safe sender skips the quarantine
    assert len(await env.folder(ALICE, "INBOX")) == 1
    assert (await client.delete(f"/api/v1/principals/{ALICE}/senders/remote.example",
                                headers=root)).status_code == 204
    rules = (await client.get("/api/v1/spam/rules", headers=root)).json()["items"]
    assert {r["name"]: r["weight"] for r in rules}["SUBJECT_ALL_CAPS"] == 6.0
    put = await client.put("/api/v1/spam/rules/HTML_ONLY", headers=root, json={"weight": 0})
    assert put.status_code == 200
    assert (await env.store.spam.rule_weights())["HTML_ONLY"] == 0.0
    unknown = await client.put("/api/v1/spam/rules/NOPE", headers=root, json={"weight": 1})
    assert unknown.status_code == 422


# --- the CLI ---------------------------------------------------------------------------


async def _hold_two(data: Path) -> AccountId:
    store = await open_store(f"sqlite:///{data}/t.db", data / "blobs", durability="off")
    try:
        await store.directory.create_domain("example.test")
        alice = await store.directory.create_principal(PrincipalKind.USER, ALICE)
        recipient = ResolvedRecipient(ALICE, (LocalTarget(AccountId(alice.id), alice),))
        quarantine = quarantine_of(store)  # type: ignore[arg-type]
        for subject in ("first held", "second held"):
            message = StageInput("x@spam.example", (recipient,), plain(subject=subject), None,
                                 "192.0.2.1")
            await quarantine.hold(message, "spam", score=12.0, report="score=12",
                                  fields=(("X-Tidings-Spam-Score", "12"),))
        return AccountId(alice.id)
    finally:
        await store.close()


async def _inbox_subjects(data: Path, account: AccountId) -> list[str]:
    store = await open_store(f"sqlite:///{data}/t.db", data / "blobs", durability="off")
    try:
        alice = await store.directory.find_principal(ALICE)
        box = await store.mail.mailbox_by_role(alice, account, MailboxRole.INBOX)
        subjects = []
        for message in await store.mail.messages(alice, box.id):
            raw = await store.mail.read_blob(alice, message.blob_id)
            subjects.append(raw.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode())
        return subjects
    finally:
        await store.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_the_cli_lists_shows_releases_and_deletes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "tidings.toml").write_text(
        f'[server]\nhostname = "mx.example.test"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/t.db"\ndurability = "off"\n'
        f'[blobs]\npath = "{tmp_path}/blobs"\n')
    account = asyncio.run(_hold_two(tmp_path))
    data = ["--data", str(tmp_path)]
    code, out = run(capsys, "quarantine", "list", *data, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["subject"] for r in rows] == ["second held", "first held"]
    first, second = rows[1]["id"], rows[0]["id"]
    code, out = run(capsys, "quarantine", "show", str(first), *data)
    assert code == 0 and "X-Tidings-Spam-Score: 12" in out and "reason: spam" in out
    code, out = run(capsys, "quarantine", "release", str(first), *data, "--json")
    assert code == 0 and json.loads(out) == {"released": [{"id": first, "delivered": 1}]}
    code, out = run(capsys, "quarantine", "delete", str(second), *data)
    assert code == 0
    assert asyncio.run(_inbox_subjects(tmp_path, account)) == ["first held"]
    code, out = run(capsys, "quarantine", "list", *data)
    assert "the quarantine is empty" in out
    code, out = run(capsys, "quarantine", "release", str(second), *data)
    assert code == 1 and "deleted" in out
    code, out = run(capsys, "audit", "list", *data, "--json")
    actions = [r["action"] for r in json.loads(out)]
    assert actions.count("quarantine.release") == 1 and "quarantine.delete" in actions


def test_the_cli_learns_and_reports_stats(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tidings.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/t.db"\ndurability = "off"\n'
        f'[blobs]\npath = "{tmp_path}/blobs"\n')
    files = []
    for n in range(3):
        path = tmp_path / f"m{n}.eml"
        path.write_bytes(plain(subject=f"offer {n}", body=f"cheap pills {n}\r\n"))
        files.append(str(path))
    data = ["--data", str(tmp_path)]
    code, out = run(capsys, "spam", "learn", "spam", *files, *data, "--json")
    assert code == 0 and json.loads(out)["learned"] == 3
    code, out = run(capsys, "spam", "stats", *data, "--json")
    stats = json.loads(out)
    assert stats["spam_messages"] == 3 and stats["ham_messages"] == 0 and stats["tokens"] > 5
