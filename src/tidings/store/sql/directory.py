"""The directory on SQL: domains, principals, addresses, groups, grants, app passwords.

Persistence only; `tidings.directory` hashes passwords and authenticates on top.
Deleting a principal removes its account data by cascade; the blobs its emails
used stay, and `tidings check` reports them as orphans (repair reclaims them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

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
from tidings.model.ids import AccountId, PrincipalId
from tidings.store.sql import accounts, schema
from tidings.store.sql import directory_links as links
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.directory_rows import (
    P,
    address_taken,
    check_length,
    conflict_on_integrity,
    domain_from_row,
    load_domain_id,
    load_principal,
    normalize_address,
    normalize_domain,
    principal_columns,
    principal_from_row,
)
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

D = schema.domains
A = schema.addresses
AP = schema.app_passwords


# Built once: every RCPT and every login looks a principal up by address.
_BY_ADDRESS = (
    principal_columns()
    .join(A, A.c.principal_id == P.c.id)
    .where(A.c.address == bindparam("p_address"))
)
_DOMAIN_BY_NAME = select(D).where(D.c.name == bindparam("p_name"))


async def _principal_by_address(conn: AsyncConnection, address: str) -> Principal:
    try:
        normalized, _ = normalize_address(address)
    except InvalidInput:
        raise NotFound(f"no principal has the address {address!r}") from None
    row = (await conn.execute(_BY_ADDRESS, {"p_address": normalized})).first()
    if row is None:
        raise NotFound(f"no principal has the address {normalized}")
    return principal_from_row(row)


class SQLDirectoryService:
    """`DirectoryService` for SQLite and PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- domains -----------------------------------------------------------------
    async def create_domain(self, name: str) -> Domain:
        """Raises Conflict if it exists, InvalidInput if the name is not a domain."""
        normalized = normalize_domain(name)

        async def _create(tx: Tx) -> Domain:
            if (await tx.conn.execute(select(D.c.id).where(D.c.name == normalized))).first():
                raise Conflict(f"domain {normalized} already exists")
            row = (
                await tx.conn.execute(
                    D.insert().values(name=normalized, created_at=utcnow()).returning(*D.c)
                )
            ).one()
            return domain_from_row(row)

        domain = await self.db.write(conflict_on_integrity(_create, f"domain {normalized} exists"))
        log.info("directory.domain_created domain=%s", normalized)
        return domain

    async def get_domain(self, name: str) -> Domain:
        """Raises NotFound."""
        try:
            normalized = normalize_domain(name)
        except InvalidInput:
            raise NotFound(f"domain {name!r} does not exist") from None

        async def _get(conn: AsyncConnection) -> Domain:
            row = (await conn.execute(_DOMAIN_BY_NAME, {"p_name": normalized})).first()
            if row is None:
                raise NotFound(f"domain {normalized} does not exist")
            return domain_from_row(row)

        return await self.db.read(_get, quick=True)

    async def list_domains(self) -> Sequence[Domain]:
        async def _list(conn: AsyncConnection) -> list[Domain]:
            return [domain_from_row(r) for r in await conn.execute(select(D).order_by(D.c.name))]

        return await self.db.read(_list)

    async def delete_domain(self, name: str) -> None:
        """Raises NotFound; Conflict while principals remain in it."""
        domain = await self.get_domain(name)

        async def _delete(tx: Tx) -> None:
            left = (
                await tx.conn.execute(select(func.count()).where(P.c.domain_id == domain.id))
            ).scalar_one()
            if left:
                raise Conflict(
                    f"domain {domain.name} still has {left} principals; remove them first"
                )
            if not (await tx.conn.execute(delete(D).where(D.c.id == domain.id))).rowcount:
                raise NotFound(f"domain {domain.name} does not exist")

        await self.db.write(conflict_on_integrity(_delete, f"domain {name} is in use"))
        log.info("directory.domain_deleted domain=%s", domain.name)

    async def set_catch_all(self, domain: str, target: PrincipalId | None) -> Domain:
        """Route unknown local parts of `domain` to `target` (None: reject them)."""
        current = await self.get_domain(domain)

        async def _set(tx: Tx) -> Domain:
            if target is not None:
                await load_principal(tx.conn, target)
            await tx.conn.execute(update(D).where(D.c.id == current.id).values(catch_all_id=target))
            return domain_from_row(
                (await tx.conn.execute(select(D).where(D.c.id == current.id))).one()
            )

        return await self.db.write(_set)

    # --- principals ----------------------------------------------------------------
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
        """Raises NotFound (domain), Conflict (address taken), InvalidInput."""
        name, domain_name = normalize_address(address)
        if quota_bytes is not None and quota_bytes < 0:
            raise InvalidInput("quota_bytes must be zero or more", field="quota_bytes")
        check_length(display_name, 256, "display_name")

        async def _create(tx: Tx) -> Principal:
            domain_id = await load_domain_id(tx.conn, domain_name)
            if await address_taken(tx.conn, name):
                raise Conflict(f"the address {name} is already in use")
            principal_id = (
                await tx.conn.execute(
                    P.insert()
                    .values(
                        kind=kind.value,
                        name=name,
                        domain_id=domain_id,
                        display_name=display_name,
                        role=role.value,
                        enabled=True,
                        quota_bytes=quota_bytes,
                        per_user_seen=True,
                        password_hash=password_hash,
                        scram_sha256=scram_sha256,
                        created_at=utcnow(),
                    )
                    .returning(P.c.id)
                )
            ).scalar_one()
            pid = PrincipalId(int(principal_id))
            await tx.conn.execute(
                A.insert().values(address=name, principal_id=pid, is_primary=True)
            )
            if kind.owns_data:
                await accounts.create_account(tx, AccountId(pid))
            return await load_principal(tx.conn, pid)

        principal = await self.db.write(
            conflict_on_integrity(_create, f"the address {name} is already in use")
        )
        log.info("directory.principal_created id=%d kind=%s name=%s", principal.id, kind, name)
        return principal

    async def get_principal(self, principal_id: PrincipalId) -> Principal:
        """Raises NotFound."""
        return await self.db.read(lambda conn: load_principal(conn, principal_id), quick=True)

    async def find_principal(self, address: str) -> Principal:
        """By primary address or alias, case-insensitive. Raises NotFound."""
        return await self.db.read(lambda conn: _principal_by_address(conn, address), quick=True)

    async def list_principals(
        self,
        *,
        domain: str | None = None,
        kind: PrincipalKind | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> Sequence[Principal]:
        stmt = principal_columns().order_by(P.c.name).offset(offset).limit(limit)
        if domain is not None:
            stmt = stmt.join(D, D.c.id == P.c.domain_id).where(D.c.name == normalize_domain(domain))
        if kind is not None:
            stmt = stmt.where(P.c.kind == kind.value)
        if query:
            needle = query.lower()
            stmt = stmt.where(
                or_(
                    P.c.name.contains(needle, autoescape=True),
                    func.lower(P.c.display_name).contains(needle, autoescape=True),
                )
            )

        async def _list(conn: AsyncConnection) -> list[Principal]:
            return [principal_from_row(row) for row in await conn.execute(stmt)]

        return await self.db.read(_list)

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
        """Change the given fields. Raises NotFound, InvalidInput."""
        values: dict[str, object] = {}
        if display_name is not None:
            values["display_name"] = check_length(display_name, 256, "display_name")
        if enabled is not None:
            values["enabled"] = enabled
        if role is not None:
            values["role"] = role.value
        if quota_bytes is not None:
            if quota_bytes < 0:
                raise InvalidInput("quota_bytes must be zero or more", field="quota_bytes")
            values["quota_bytes"] = quota_bytes
        if clear_quota:
            values["quota_bytes"] = None
        if per_user_seen is not None:
            values["per_user_seen"] = per_user_seen

        async def _update(tx: Tx) -> Principal:
            await load_principal(tx.conn, principal_id)
            if values:
                await tx.conn.execute(update(P).where(P.c.id == principal_id).values(**values))
            return await load_principal(tx.conn, principal_id)

        return await self.db.write(_update)

    async def set_password(
        self, principal_id: PrincipalId, password_hash: str, scram_sha256: str | None
    ) -> None:
        """Replace the password hash and SCRAM secrets. Raises NotFound."""

        async def _set(tx: Tx) -> None:
            result = await tx.conn.execute(
                update(P)
                .where(P.c.id == principal_id)
                .values(password_hash=password_hash, scram_sha256=scram_sha256)
            )
            if not result.rowcount:
                raise NotFound(f"principal {principal_id} does not exist")

        await self.db.write(_set)

    async def delete_principal(self, principal_id: PrincipalId) -> None:
        """Remove the principal, its addresses, memberships and all its data. Raises NotFound."""

        async def _delete(tx: Tx) -> Principal:
            principal = await load_principal(tx.conn, principal_id)
            if tx.conn.dialect.name == "sqlite":
                # FTS5 tables have no foreign keys; PostgreSQL's email_search cascades.
                await tx.conn.execute(
                    text(
                        "DELETE FROM email_fts WHERE rowid IN "
                        "(SELECT id FROM emails WHERE account_id = :account)"
                    ),
                    {"account": principal_id},
                )
            # Grantees in folder ACLs and catch-all targets are not foreign keys.
            await tx.conn.execute(
                delete(schema.mailbox_acl).where(schema.mailbox_acl.c.grantee_id == principal_id)
            )
            await tx.conn.execute(
                update(D).where(D.c.catch_all_id == principal_id).values(catch_all_id=None)
            )
            await tx.conn.execute(delete(P).where(P.c.id == principal_id))
            return principal

        principal = await self.db.write(_delete)
        log.info("directory.principal_deleted id=%d name=%s", principal_id, principal.name)

    async def credential(self, login: str) -> Credential:
        """Everything authentication needs, by login or address. Raises NotFound."""

        async def _get(conn: AsyncConnection) -> Credential:
            principal = await _principal_by_address(conn, login)
            secrets = (
                await conn.execute(
                    select(P.c.password_hash, P.c.scram_sha256).where(P.c.id == principal.id)
                )
            ).one()
            app_rows = await conn.execute(
                select(AP.c.id, AP.c.password_hash)
                .where(AP.c.principal_id == principal.id)
                .order_by(AP.c.id)
            )
            return Credential(
                principal=principal,
                password_hash=secrets.password_hash,
                scram_sha256=secrets.scram_sha256,
                app_password_hashes=tuple((int(r.id), r.password_hash) for r in app_rows),
            )

        return await self.db.read(_get, quick=True)

    # --- links: app passwords, aliases, groups, grants, resources (directory_links) ----
    async def add_app_password(
        self, principal_id: PrincipalId, label: str, password_hash: str
    ) -> AppPassword:
        """Raises NotFound."""
        return await links.add_app_password(self.db, principal_id, label, password_hash)

    async def list_app_passwords(self, principal_id: PrincipalId) -> Sequence[AppPassword]:
        return await links.list_app_passwords(self.db, principal_id)

    async def delete_app_password(self, principal_id: PrincipalId, app_password_id: int) -> None:
        """Raises NotFound."""
        await links.delete_app_password(self.db, principal_id, app_password_id)

    async def touch_app_password(self, app_password_id: int) -> None:
        await links.touch_app_password(self.db, app_password_id)

    async def add_alias(self, principal_id: PrincipalId, address: str) -> None:
        """Raises Conflict if the address is taken, NotFound if its domain is not local."""
        await links.add_alias(self.db, principal_id, address)

    async def remove_alias(self, address: str) -> None:
        """Raises NotFound; InvalidInput for a primary address."""
        await links.remove_alias(self.db, address)

    async def list_aliases(self, principal_id: PrincipalId) -> Sequence[str]:
        return await links.list_aliases(self.db, principal_id)

    async def add_member(self, group_id: PrincipalId, member_id: PrincipalId) -> None:
        """Raises NotFound, InvalidInput (not a group, or the edge makes a cycle)."""
        await links.add_member(self.db, group_id, member_id)

    async def remove_member(self, group_id: PrincipalId, member_id: PrincipalId) -> None:
        """Raises NotFound when `member_id` is not a direct member."""
        await links.remove_member(self.db, group_id, member_id)

    async def list_members(self, group_id: PrincipalId) -> Sequence[Principal]:
        return await links.list_members(self.db, group_id)

    async def expand_group(self, group_id: PrincipalId) -> Sequence[Principal]:
        return await links.expand_group(self.db, group_id)

    async def grant(
        self, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
    ) -> None:
        await links.grant(self.db, owner_id, grantee_id, permission)

    async def revoke(
        self, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
    ) -> None:
        await links.revoke(self.db, owner_id, grantee_id, permission)

    async def permissions_of(
        self, grantee_id: PrincipalId
    ) -> Sequence[tuple[PrincipalId, Permission]]:
        """(owner, permission) pairs granted to `grantee_id`, directly or via a group."""
        return await links.permissions_of(self.db, grantee_id)

    async def set_resource_policy(self, principal_id: PrincipalId, policy: ResourcePolicy) -> None:
        await links.set_resource_policy(self.db, principal_id, policy)

    async def resource_policy(self, principal_id: PrincipalId) -> ResourcePolicy:
        return await links.resource_policy(self.db, principal_id)
