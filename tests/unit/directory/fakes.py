"""An in-memory `DirectoryService` for unit tests of `tidings.directory`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tidings.model.directory import (
    AppPassword,
    Credential,
    Domain,
    Permission,
    Principal,
    PrincipalKind,
    ResourcePolicy,
    Role,
)
from tidings.model.errors import Conflict, InvalidInput, NotFound
from tidings.model.ids import DomainId, PrincipalId

if TYPE_CHECKING:
    # Annotations only: importing the store package at run time would pull in its backends.
    from tidings.store.services import DirectoryService


@dataclass
class _Secrets:
    password_hash: str | None = None
    scram_sha256: str | None = None
    app_passwords: dict[int, tuple[AppPassword, str]] = field(default_factory=dict)


class FakeDirectory:
    """Enough of the store's directory semantics for the auth and admin tests."""

    def __init__(self) -> None:
        self.domains: dict[str, Domain] = {}
        self.principals: dict[PrincipalId, Principal] = {}
        self.secrets: dict[PrincipalId, _Secrets] = {}
        self.aliases: dict[str, PrincipalId] = {}
        self.members: dict[PrincipalId, list[PrincipalId]] = {}
        self.grants: set[tuple[PrincipalId, PrincipalId, Permission]] = set()
        self.policies: dict[PrincipalId, ResourcePolicy] = {}
        self.touched: list[int] = []
        self.set_password_calls = 0
        self._ids = itertools.count(1)

    # --- domains -----------------------------------------------------------------
    async def create_domain(self, name: str) -> Domain:
        if name in self.domains:
            raise Conflict(f"domain {name} exists")
        domain = Domain(DomainId(next(self._ids)), name, created_at=datetime.now(UTC))
        self.domains[name] = domain
        return domain

    async def get_domain(self, name: str) -> Domain:
        try:
            return self.domains[name.lower()]
        except KeyError:
            raise NotFound(f"no domain {name}") from None

    async def list_domains(self) -> Sequence[Domain]:
        return sorted(self.domains.values(), key=lambda d: d.name)

    async def delete_domain(self, name: str) -> None:
        domain = await self.get_domain(name)
        if any(p.domain_id == domain.id for p in self.principals.values()):
            raise Conflict("domain still has principals")
        del self.domains[domain.name]

    async def set_catch_all(self, domain: str, target: PrincipalId | None) -> Domain:
        updated = replace(await self.get_domain(domain), catch_all=target)
        self.domains[updated.name] = updated
        return updated

    # --- principals --------------------------------------------------------------
    async def create_principal(
        self,
        kind: PrincipalKind,
        address: str,
        *,
        display_name: str = "",
        password_hash: str | None = None,
        scram_sha256: str | None = None,
        role: Role = Role.USER,
        quota_bytes: int | None = None,
    ) -> Principal:
        domain = await self.get_domain(address.rsplit("@", 1)[1])
        if self._lookup(address) is not None:
            raise Conflict(f"{address} is taken")
        principal = Principal(
            PrincipalId(next(self._ids)),
            kind,
            address.lower(),
            domain.id,
            display_name=display_name,
            role=role,
            quota_bytes=quota_bytes,
            created_at=datetime.now(UTC),
        )
        self.principals[principal.id] = principal
        self.secrets[principal.id] = _Secrets(password_hash, scram_sha256)
        return principal

    def _lookup(self, address: str) -> Principal | None:
        address = address.lower()
        for principal in self.principals.values():
            if principal.name == address:
                return principal
        principal_id = self.aliases.get(address)
        return self.principals.get(principal_id) if principal_id is not None else None

    async def get_principal(self, principal_id: PrincipalId) -> Principal:
        try:
            return self.principals[principal_id]
        except KeyError:
            raise NotFound(f"no principal {principal_id}") from None

    async def find_principal(self, address: str) -> Principal:
        principal = self._lookup(address)
        if principal is None:
            raise NotFound(f"no principal {address}")
        return principal

    async def list_principals(
        self,
        *,
        domain: str | None = None,
        kind: PrincipalKind | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> Sequence[Principal]:
        found = [
            p
            for p in sorted(self.principals.values(), key=lambda p: p.name)
            if (domain is None or p.domain == domain)
            and (kind is None or p.kind is kind)
            and (query is None or query.lower() in (p.name + p.display_name).lower())
        ]
        return found[offset : offset + limit]

    async def update_principal(
        self,
        principal_id: PrincipalId,
        *,
        display_name: str | None = None,
        enabled: bool | None = None,
        role: Role | None = None,
        quota_bytes: int | None = None,
        clear_quota: bool = False,
        per_user_seen: bool | None = None,
    ) -> Principal:
        principal = await self.get_principal(principal_id)
        changes: dict[str, object] = {
            k: v
            for k, v in (
                ("display_name", display_name),
                ("enabled", enabled),
                ("role", role),
                ("quota_bytes", quota_bytes),
                ("per_user_seen", per_user_seen),
            )
            if v is not None
        }
        if clear_quota:
            changes["quota_bytes"] = None
        updated = replace(principal, **changes)  # type: ignore[arg-type]
        self.principals[principal_id] = updated
        return updated

    async def set_password(
        self, principal_id: PrincipalId, password_hash: str, scram_sha256: str | None
    ) -> None:
        await self.get_principal(principal_id)
        self.set_password_calls += 1
        self.secrets[principal_id].password_hash = password_hash
        self.secrets[principal_id].scram_sha256 = scram_sha256

    async def delete_principal(self, principal_id: PrincipalId) -> None:
        await self.get_principal(principal_id)
        del self.principals[principal_id]
        del self.secrets[principal_id]
        self.aliases = {a: t for a, t in self.aliases.items() if t != principal_id}

    async def credential(self, login: str) -> Credential:
        principal = await self.find_principal(login)
        held = self.secrets[principal.id]
        return Credential(
            principal,
            held.password_hash,
            held.scram_sha256,
            tuple((app_id, app_hash) for app_id, (_, app_hash) in held.app_passwords.items()),
        )

    # --- app passwords -----------------------------------------------------------
    async def add_app_password(
        self, principal_id: PrincipalId, label: str, password_hash: str
    ) -> AppPassword:
        await self.get_principal(principal_id)
        app = AppPassword(next(self._ids), principal_id, label, datetime.now(UTC))
        self.secrets[principal_id].app_passwords[app.id] = (app, password_hash)
        return app

    async def list_app_passwords(self, principal_id: PrincipalId) -> Sequence[AppPassword]:
        await self.get_principal(principal_id)
        return [app for app, _ in self.secrets[principal_id].app_passwords.values()]

    async def delete_app_password(self, principal_id: PrincipalId, app_password_id: int) -> None:
        if self.secrets[principal_id].app_passwords.pop(app_password_id, None) is None:
            raise NotFound(f"no app password {app_password_id}")

    async def touch_app_password(self, app_password_id: int) -> None:
        self.touched.append(app_password_id)

    # --- aliases -----------------------------------------------------------------
    async def add_alias(self, principal_id: PrincipalId, address: str) -> None:
        await self.get_domain(address.rsplit("@", 1)[1])
        if self._lookup(address) is not None:
            raise Conflict(f"{address} is taken")
        self.aliases[address.lower()] = principal_id

    async def remove_alias(self, address: str) -> None:
        if self.aliases.pop(address.lower(), None) is None:
            raise NotFound(f"no alias {address}")

    async def list_aliases(self, principal_id: PrincipalId) -> Sequence[str]:
        return sorted(a for a, t in self.aliases.items() if t == principal_id)

    # --- groups and permissions --------------------------------------------------
    async def add_member(self, group_id: PrincipalId, member_id: PrincipalId) -> None:
        if (await self.get_principal(group_id)).kind is not PrincipalKind.GROUP:
            raise InvalidInput("not a group", field="group")
        await self.get_principal(member_id)
        self.members.setdefault(group_id, []).append(member_id)

    async def remove_member(self, group_id: PrincipalId, member_id: PrincipalId) -> None:
        self.members.get(group_id, []).remove(member_id)

    async def list_members(self, group_id: PrincipalId) -> Sequence[Principal]:
        return [self.principals[m] for m in self.members.get(group_id, [])]

    async def expand_group(self, group_id: PrincipalId) -> Sequence[Principal]:
        return [p for p in await self.list_members(group_id) if p.kind.owns_data]

    async def grant(
        self, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
    ) -> None:
        self.grants.add((owner_id, grantee_id, permission))

    async def revoke(
        self, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
    ) -> None:
        self.grants.discard((owner_id, grantee_id, permission))

    async def permissions_of(
        self, grantee_id: PrincipalId
    ) -> Sequence[tuple[PrincipalId, Permission]]:
        return [(o, p) for o, g, p in self.grants if g == grantee_id]

    async def set_resource_policy(self, principal_id: PrincipalId, policy: ResourcePolicy) -> None:
        self.policies[principal_id] = policy

    async def resource_policy(self, principal_id: PrincipalId) -> ResourcePolicy:
        return self.policies.get(principal_id, ResourcePolicy())


def _conforms(fake: FakeDirectory) -> DirectoryService:
    return fake  # mypy checks that the fake implements the whole Protocol
