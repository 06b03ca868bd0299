"""Directory administration with role checks and an audit record per change.

Wraps `tidings.directory.admin.DirectoryAdmin`: each method takes the acting
`Actor`, checks it (`tidings.admin.roles`), does the work, and appends who/what/
which object/before/after to the audit log. Principals outside a domain admin's
domains are reported as not found, so their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from tidings.admin.roles import Actor, Op, authorize
from tidings.directory.addresses import normalize_address, normalize_domain
from tidings.directory.admin import (
    DirectoryAdmin,
    app_password_as_json,
    domain_as_json,
    principal_as_json,
)
from tidings.model.directory import (
    AppPassword,
    Domain,
    Permission,
    Principal,
    PrincipalKind,
    ResourcePolicy,
    Role,
)
from tidings.model.errors import InvalidInput, NotFound
from tidings.policy.audit import AuditTrail

if TYPE_CHECKING:
    from tidings.store.services import AdminAccessService

MAX_LISTED = 100_000  # principals read to count a filtered listing


def policy_as_json(policy: ResourcePolicy) -> dict[str, object]:
    return {
        "auto_accept": policy.auto_accept,
        "allow_conflicts": policy.allow_conflicts,
        "capacity": policy.capacity,
        "max_duration_minutes": policy.max_duration_minutes,
        "booking_window_days": policy.booking_window_days,
        "bookers": list(policy.bookers),
    }


class DirectoryAdminService:
    """Domains, principals, aliases, groups, app passwords, permissions, policies."""

    def __init__(
        self, admin: DirectoryAdmin, trail: AuditTrail, access: AdminAccessService
    ) -> None:
        self.admin = admin
        self.directory = admin.directory
        self.trail = trail
        self.access = access

    async def _audit(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: str,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
    ) -> None:
        await self.trail.record(
            actor=actor.name,
            actor_address=actor.address,
            remote_ip=actor.remote_ip,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )

    # --- domains ---------------------------------------------------------------------
    async def list_domains(self, actor: Actor) -> list[Domain]:
        authorize(actor, Op.READ)
        return [d for d in await self.admin.list_domains() if actor.sees_domain(d.name)]

    async def get_domain(self, actor: Actor, name: str) -> Domain:
        authorize(actor, Op.READ)
        domain = await self.admin.show_domain(name)
        if not actor.sees_domain(domain.name):
            raise NotFound(f"domain {domain.name} does not exist")
        return domain

    async def create_domain(self, actor: Actor, name: str) -> Domain:
        authorize(actor, Op.DOMAIN_WRITE)
        domain = await self.admin.add_domain(name)
        await self._audit(actor, "domain.create", "domain", domain.name, after=_j(domain))
        return domain

    async def delete_domain(self, actor: Actor, name: str) -> None:
        authorize(actor, Op.DOMAIN_WRITE)
        domain = await self.admin.show_domain(name)
        await self.admin.remove_domain(domain.name)
        await self._audit(actor, "domain.delete", "domain", domain.name, before=_j(domain))

    # --- principals ------------------------------------------------------------------
    async def principal(self, actor: Actor, address: str) -> Principal:
        """The principal if the actor may see it. Raises NotFound, PermissionDenied."""
        authorize(actor, Op.READ)
        principal = await self.admin.show(address)
        if not actor.sees_domain(principal.domain):
            raise NotFound(f"{normalize_address(address)} does not exist")
        return principal

    async def list_principals(
        self,
        actor: Actor,
        *,
        kind: PrincipalKind | None = None,
        domain: str | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[Principal], int]:
        """One page of matching principals and how many match in total."""
        authorize(actor, Op.READ)
        if domain is not None:
            domain = normalize_domain(domain)
            if not actor.sees_domain(domain):
                return [], 0
        found = await self.admin.list_principals(
            kind=kind, domain=domain, query=query or None, limit=MAX_LISTED
        )
        visible = [p for p in found if actor.sees_domain(p.domain)]
        return visible[offset : offset + limit], len(visible)

    async def create_user(
        self,
        actor: Actor,
        address: str,
        *,
        password: str | None = None,
        display_name: str = "",
        role: Role = Role.USER,
        quota_bytes: int | None = None,
    ) -> tuple[Principal, str | None]:
        canonical = normalize_address(address)
        authorize(actor, Op.PRINCIPAL_CREATE, domain=canonical.rsplit("@", 1)[1], grants=role)
        principal, generated = await self.admin.add_user(
            canonical,
            password=password,
            display_name=display_name,
            role=role,
            quota_bytes=quota_bytes,
        )
        await self._audit(
            actor, "principal.create", "principal", principal.name, after=_j(principal)
        )
        return principal, generated

    async def create_principal(
        self, actor: Actor, kind: PrincipalKind, address: str, *, display_name: str = ""
    ) -> Principal:
        """A group, shared mailbox, room or equipment."""
        if kind is PrincipalKind.USER:
            raise InvalidInput("create users with a password", field="kind")
        canonical = normalize_address(address)
        authorize(actor, Op.PRINCIPAL_CREATE, domain=canonical.rsplit("@", 1)[1])
        principal = await self.admin.add_principal(kind, canonical, display_name=display_name)
        await self._audit(
            actor, "principal.create", "principal", principal.name, after=_j(principal)
        )
        return principal

    async def update(
        self,
        actor: Actor,
        address: str,
        *,
        display_name: str | None = None,
        enabled: bool | None = None,
        role: Role | None = None,
        quota_bytes: int | None = None,
        clear_quota: bool = False,
    ) -> Principal:
        before = await self.principal(actor, address)
        if display_name is not None or role is not None or quota_bytes is not None or clear_quota:
            authorize(actor, Op.PRINCIPAL_UPDATE, target=before, grants=role)
        if enabled is not None:
            authorize(actor, Op.ENABLE, target=before)
        after = await self.admin.update(
            before.name,
            display_name=display_name,
            enabled=enabled,
            role=role,
            quota_bytes=quota_bytes,
            clear_quota=clear_quota,
        )
        await self._audit(
            actor, "principal.update", "principal", after.name, before=_j(before), after=_j(after)
        )
        return after

    async def reset_password(
        self, actor: Actor, address: str, password: str | None = None
    ) -> str | None:
        """Set a new password; returns the generated one when none is given."""
        target = await self.principal(actor, address)
        authorize(actor, Op.PASSWORD_RESET, target=target)
        generated = await self.admin.set_password(target.name, password)
        # The audit record says that it changed, never what to.
        await self._audit(actor, "principal.password_reset", "principal", target.name)
        return generated

    async def delete(self, actor: Actor, address: str) -> None:
        target = await self.principal(actor, address)
        authorize(actor, Op.PRINCIPAL_DELETE, target=target)
        await self.admin.remove(target.name)
        await self._audit(actor, "principal.delete", "principal", target.name, before=_j(target))

    # --- aliases ---------------------------------------------------------------------
    async def aliases(self, actor: Actor, address: str) -> Sequence[str]:
        return await self.directory.list_aliases((await self.principal(actor, address)).id)

    async def add_alias(self, actor: Actor, address: str, alias: str) -> str:
        target = await self.principal(actor, address)
        canonical = normalize_address(alias, field="alias")
        authorize(actor, Op.LINK_ADD, target=target, domain=canonical.rsplit("@", 1)[1])
        await self.admin.add_alias(canonical, target.name)
        await self._audit(actor, "alias.add", "principal", target.name, after={"alias": canonical})
        return canonical

    async def remove_alias(self, actor: Actor, address: str, alias: str) -> None:
        target = await self.principal(actor, address)
        canonical = normalize_address(alias, field="alias")
        authorize(actor, Op.LINK_REMOVE, target=target)
        if canonical not in await self.directory.list_aliases(target.id):
            raise NotFound(f"{canonical} is not an alias of {target.name}")
        await self.admin.remove_alias(canonical)
        await self._audit(
            actor, "alias.remove", "principal", target.name, before={"alias": canonical}
        )

    # --- groups ----------------------------------------------------------------------
    async def members(self, actor: Actor, group: str) -> Sequence[Principal]:
        target = await self.principal(actor, group)
        return await self.admin.members(target.name)

    async def add_member(self, actor: Actor, group: str, member: str) -> None:
        target = await self.principal(actor, group)
        authorize(actor, Op.LINK_ADD, target=target)
        added = await self.principal(actor, member)
        await self.admin.add_member(target.name, added.name)
        await self._audit(
            actor, "group.member_add", "principal", target.name, after={"member": added.name}
        )

    async def remove_member(self, actor: Actor, group: str, member: str) -> None:
        target = await self.principal(actor, group)
        authorize(actor, Op.LINK_REMOVE, target=target)
        removed = await self.principal(actor, member)
        await self.admin.remove_member(target.name, removed.name)
        await self._audit(
            actor, "group.member_remove", "principal", target.name, before={"member": removed.name}
        )

    # --- app passwords ---------------------------------------------------------------
    async def app_passwords(self, actor: Actor, address: str) -> Sequence[AppPassword]:
        target = await self.principal(actor, address)
        return await self.admin.list_app_passwords(target.name)

    async def add_app_password(
        self, actor: Actor, address: str, label: str
    ) -> tuple[AppPassword, str]:
        target = await self.principal(actor, address)
        authorize(actor, Op.LINK_ADD, target=target)
        created, secret = await self.admin.add_app_password(target.name, label)
        await self._audit(
            actor,
            "app_password.add",
            "principal",
            target.name,
            after=dict(app_password_as_json(created)),
        )
        return created, secret

    async def remove_app_password(self, actor: Actor, address: str, app_password_id: int) -> None:
        target = await self.principal(actor, address)
        authorize(actor, Op.LINK_REMOVE, target=target)
        if app_password_id not in {a.id for a in await self.admin.list_app_passwords(target.name)}:
            raise NotFound(f"app password {app_password_id} does not exist")
        await self.admin.remove_app_password(target.name, app_password_id)
        await self._audit(
            actor, "app_password.remove", "principal", target.name, before={"id": app_password_id}
        )

    # --- permissions and resource policies -------------------------------------------
    async def permissions(self, actor: Actor, grantee: str) -> list[tuple[str, Permission]]:
        """(owner address, permission) pairs granted to `grantee`."""
        target = await self.principal(actor, grantee)
        pairs = await self.directory.permissions_of(target.id)
        found: list[tuple[str, Permission]] = []
        for owner_id, permission in pairs:
            owner = await self.directory.get_principal(owner_id)
            found.append((owner.name, permission))
        return found

    async def grant(
        self,
        actor: Actor,
        owner: str,
        grantee: str,
        permission: Permission,
        *,
        revoke: bool = False,
    ) -> None:
        owner_p = await self.principal(actor, owner)
        grantee_p = await self.principal(actor, grantee)
        authorize(actor, Op.LINK_REMOVE if revoke else Op.LINK_ADD, target=owner_p)
        change = {"grantee": grantee_p.name, "permission": permission.value}
        if revoke:
            await self.admin.revoke(owner_p.name, grantee_p.name, permission)
            await self._audit(actor, "permission.revoke", "principal", owner_p.name, before=change)
        else:
            await self.admin.grant(owner_p.name, grantee_p.name, permission)
            await self._audit(actor, "permission.grant", "principal", owner_p.name, after=change)

    async def resource_policy(self, actor: Actor, address: str) -> ResourcePolicy:
        target = await self._resource(actor, address)
        return await self.directory.resource_policy(target.id)

    async def set_resource_policy(
        self, actor: Actor, address: str, policy: ResourcePolicy
    ) -> ResourcePolicy:
        target = await self._resource(actor, address)
        authorize(actor, Op.LINK_ADD, target=target)
        before = await self.directory.resource_policy(target.id)
        await self.directory.set_resource_policy(target.id, policy)
        await self._audit(
            actor,
            "resource.policy_set",
            "principal",
            target.name,
            before=policy_as_json(before),
            after=policy_as_json(policy),
        )
        return policy

    async def _resource(self, actor: Actor, address: str) -> Principal:
        target = await self.principal(actor, address)
        if target.kind not in (PrincipalKind.ROOM, PrincipalKind.EQUIPMENT):
            raise InvalidInput(f"{target.name} is not a room or equipment", field="address")
        return target

    # --- domain admin scopes ---------------------------------------------------------
    async def admin_domains(self, actor: Actor, address: str) -> Sequence[str]:
        target = await self.principal(actor, address)
        return await self.access.admin_domains(target.id)

    async def set_admin_domain(
        self, actor: Actor, address: str, domain: str, *, remove: bool = False
    ) -> None:
        """Let a domain admin administer `domain` too (global admins only)."""
        authorize(actor, Op.DOMAIN_WRITE)
        target = await self.principal(actor, address)
        name = normalize_domain(domain)
        change = {"domain": name}
        if remove:
            await self.access.remove_domain_admin(target.id, name)
            await self._audit(actor, "domain_admin.remove", "principal", target.name, before=change)
        else:
            await self.access.add_domain_admin(target.id, name)
            await self._audit(actor, "domain_admin.add", "principal", target.name, after=change)


def _j(value: Principal | Domain) -> dict[str, object]:
    if isinstance(value, Domain):
        return dict(domain_as_json(value))
    return dict(principal_as_json(value))
