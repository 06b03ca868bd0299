"""The role table: what each admin role may do, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tidings.admin.roles import Actor, Op, authorize, may
from tidings.model.directory import Principal, PrincipalKind, Role
from tidings.model.errors import PermissionDenied
from tidings.model.ids import DomainId, PrincipalId


def principal(address: str, role: Role = Role.USER) -> Principal:
    return Principal(
        PrincipalId(1), PrincipalKind.USER, address, DomainId(1), role=role,
        created_at=datetime.now(UTC),
    )  # fmt: skip


def actor(role: Role, domains: frozenset[str] = frozenset()) -> Actor:
    return Actor("someone", role, principal("someone@example.org", role), domains)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.GLOBAL_ADMIN, set(Op)),
        (Role.HELPDESK, {Op.READ, Op.PRINCIPAL_CREATE, Op.PASSWORD_RESET, Op.ENABLE,
                         Op.LINK_ADD, Op.QUEUE_READ, Op.QUEUE_RETRY, Op.QUARANTINE_READ,
                         Op.QUARANTINE_RELEASE}),
        (Role.AUDITOR, {Op.READ, Op.QUEUE_READ, Op.AUDIT_READ, Op.QUARANTINE_READ}),
        (Role.USER, set()),
    ],
)  # fmt: skip
def test_each_role_may_do_exactly_its_operations(role: Role, allowed: set[Op]) -> None:
    assert {op for op in Op if may(actor(role), op)} == allowed


def test_no_role_but_global_admin_deletes_or_reads_the_audit_log_and_queue_deletes() -> None:
    for role in (Role.DOMAIN_ADMIN, Role.HELPDESK, Role.AUDITOR, Role.USER):
        assert not may(actor(role), Op.QUEUE_DELETE)
        assert not may(actor(role), Op.DOMAIN_WRITE)
    assert not may(actor(Role.HELPDESK), Op.PRINCIPAL_DELETE)


def test_domain_admin_is_limited_to_its_domains() -> None:
    boss = actor(Role.DOMAIN_ADMIN, frozenset({"example.net"}))
    authorize(boss, Op.PRINCIPAL_DELETE, target=principal("a@example.net"))
    with pytest.raises(PermissionDenied, match=r"example\.org"):
        authorize(boss, Op.PRINCIPAL_DELETE, target=principal("a@example.org"))


def test_only_a_global_admin_changes_an_admin_or_grants_an_admin_role() -> None:
    target = principal("h@example.net", Role.HELPDESK)
    for role in (Role.DOMAIN_ADMIN, Role.HELPDESK):
        who = actor(role, frozenset({"example.net"}))
        with pytest.raises(PermissionDenied, match="only a global admin"):
            authorize(who, Op.PASSWORD_RESET, target=target)
        with pytest.raises(PermissionDenied, match="grant"):
            authorize(who, Op.PRINCIPAL_CREATE, domain="example.net", grants=Role.GLOBAL_ADMIN)
    authorize(actor(Role.GLOBAL_ADMIN), Op.PASSWORD_RESET, target=target)
    # Reading an admin is fine for every admin role.
    authorize(actor(Role.AUDITOR), Op.READ, target=target)
