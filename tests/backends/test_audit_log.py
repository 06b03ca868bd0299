"""The audit log's hash chain and the admin access tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tidings.model.directory import PrincipalKind, Role
from tidings.model.errors import NotFound
from tidings.store import SQLStore
from tidings.store.services import AuditEvent, AuditFilter
from tidings.store.sql.audit import GENESIS_HASH


def _event(n: int, action: str = "user.update") -> AuditEvent:
    return AuditEvent(
        actor="admin@example.org",
        action=action,
        object_type="principal",
        object_id=f"u{n}@example.org",
        actor_address="admin@example.org",
        remote_ip="192.0.2.7",
        before={"enabled": True, "n": n},
        after={"enabled": False, "n": n, "name": "Zoë"},
    )


async def test_appended_records_chain_from_the_genesis_hash(store: SQLStore) -> None:
    first = await store.audit.append(_event(1))
    second = await store.audit.append(_event(2))
    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert await store.audit.verify() is None


async def test_concurrent_appends_keep_one_unbroken_chain(store: SQLStore) -> None:
    await asyncio.gather(*(store.audit.append(_event(n)) for n in range(20)))
    records, total = await store.audit.list(limit=100)
    assert total == 20
    assert [r.id for r in records] == list(range(1, 21))
    assert await store.audit.verify() is None


async def test_list_filters_by_action_prefix_and_object(store: SQLStore) -> None:
    await store.audit.append(_event(1, "user.create"))
    await store.audit.append(_event(2, "domain.create"))
    await store.audit.append(_event(3, "user.delete"))
    users, total = await store.audit.list(AuditFilter(action="user."))
    assert total == 2
    assert [r.event.action for r in users] == ["user.create", "user.delete"]
    one, _ = await store.audit.list(AuditFilter(object_id="u2@example.org"))
    assert [r.event.after for r in one] == [{"enabled": False, "n": 2, "name": "Zoë"}]
    page, total = await store.audit.list(offset=1, limit=1)
    assert (total, [r.id for r in page]) == (3, [2])


async def test_verify_names_a_record_changed_with_raw_sql(store: SQLStore) -> None:
    for n in range(5):
        await store.audit.append(_event(n))
    async with store.db.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    assert await store.audit.verify() == 3


async def test_verify_names_the_record_after_a_deleted_one(store: SQLStore) -> None:
    for n in range(4):
        await store.audit.append(_event(n))
    async with store.db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    assert await store.audit.verify() == 3


async def test_verify_detects_a_rehashed_record_by_its_successor(store: SQLStore) -> None:
    for n in range(3):
        await store.audit.append(_event(n))
    records, _ = await store.audit.list()
    async with store.db.engine.begin() as conn:
        # A forger recomputing one record's own hash still breaks the next link.
        await conn.execute(text("UPDATE audit_log SET hash = :h WHERE id = 2"), {"h": "f" * 64})
    assert records[2].prev_hash != "f" * 64
    assert await store.audit.verify() == 2


async def test_tokens_are_found_by_hash_and_deleted(store: SQLStore) -> None:
    await store.directory.create_domain("example.org")
    user = await store.directory.create_principal(PrincipalKind.USER, "a@example.org")
    token = await store.admin_access.create_token(user.id, "ci", Role.HELPDESK, "ab" * 32)
    found = await store.admin_access.find_token("ab" * 32)
    assert (found.id, found.role, found.principal_id) == (token.id, Role.HELPDESK, user.id)
    await store.admin_access.touch_token(token.id)
    assert (await store.admin_access.list_tokens(user.id))[0].last_used_at is not None
    await store.admin_access.delete_token(token.id)
    try:
        await store.admin_access.find_token("ab" * 32)
    except NotFound:
        pass
    else:
        raise AssertionError("a deleted token was still found")


async def test_domain_admin_scopes_list_granted_domains(store: SQLStore) -> None:
    for name in ("example.org", "example.net", "example.com"):
        await store.directory.create_domain(name)
    user = await store.directory.create_principal(PrincipalKind.USER, "d@example.org")
    await store.admin_access.add_domain_admin(user.id, "example.net")
    await store.admin_access.add_domain_admin(user.id, "example.com")
    await store.admin_access.add_domain_admin(user.id, "example.com")  # twice is harmless
    assert list(await store.admin_access.admin_domains(user.id)) == [
        "example.com",
        "example.net",
    ]
    await store.admin_access.remove_domain_admin(user.id, "example.com")
    assert list(await store.admin_access.admin_domains(user.id)) == ["example.net"]
