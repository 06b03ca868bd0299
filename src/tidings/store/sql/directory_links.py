"""Directory links between principals: aliases, group membership, grants, app
passwords and resource policies (the second half of `SQLDirectoryService`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.directory import (
    AppPassword,
    Permission,
    Principal,
    PrincipalKind,
    ResourcePolicy,
)
from tidings.model.errors import Conflict, InvalidInput, NotFound
from tidings.model.ids import PrincipalId
from tidings.store.sql import directory_graph as graph
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.directory_rows import (
    P,
    address_taken,
    app_password_from_row,
    check_length,
    conflict_on_integrity,
    load_domain_id,
    load_principal,
    normalize_address,
    policy_from_json,
    policy_to_json,
    principal_columns,
    principal_from_row,
)
from tidings.store.sql.types import utcnow
from tidings.store.sql.upsert import insert_ignore

A = schema.addresses
AP = schema.app_passwords


# --- app passwords -----------------------------------------------------------------
async def add_app_password(
    db: Database, principal_id: PrincipalId, label: str, password_hash: str
) -> AppPassword:
    """Raises NotFound, InvalidInput (label too long)."""
    check_length(label, 128, "label")

    async def _add(tx: Tx) -> AppPassword:
        await load_principal(tx.conn, principal_id)
        row = (
            await tx.conn.execute(
                AP.insert()
                .values(
                    principal_id=principal_id,
                    label=label,
                    password_hash=password_hash,
                    created_at=utcnow(),
                )
                .returning(*AP.c)
            )
        ).one()
        return app_password_from_row(row)

    return await db.write(_add)


async def list_app_passwords(db: Database, principal_id: PrincipalId) -> Sequence[AppPassword]:
    async def _list(conn: AsyncConnection) -> list[AppPassword]:
        rows = await conn.execute(
            select(AP).where(AP.c.principal_id == principal_id).order_by(AP.c.id)
        )
        return [app_password_from_row(r) for r in rows]

    return await db.read(_list)


async def delete_app_password(
    db: Database, principal_id: PrincipalId, app_password_id: int
) -> None:
    """Raises NotFound."""

    async def _delete(tx: Tx) -> None:
        result = await tx.conn.execute(
            delete(AP).where(AP.c.id == app_password_id, AP.c.principal_id == principal_id)
        )
        if not result.rowcount:
            raise NotFound(f"app password {app_password_id} does not exist")

    await db.write(_delete)


async def touch_app_password(db: Database, app_password_id: int) -> None:
    """Record a successful use (a vanished password is ignored)."""

    async def _touch(tx: Tx) -> None:
        await tx.conn.execute(
            update(AP).where(AP.c.id == app_password_id).values(last_used_at=utcnow())
        )

    await db.write(_touch)


# --- aliases -------------------------------------------------------------------------
async def add_alias(db: Database, principal_id: PrincipalId, address: str) -> None:
    """Raises Conflict if the address is taken, NotFound if its domain is not local."""
    name, domain_name = normalize_address(address)

    async def _add(tx: Tx) -> None:
        await load_domain_id(tx.conn, domain_name)
        await load_principal(tx.conn, principal_id)
        if await address_taken(tx.conn, name):
            raise Conflict(f"the address {name} is already in use")
        await tx.conn.execute(
            A.insert().values(address=name, principal_id=principal_id, is_primary=False)
        )

    await db.write(conflict_on_integrity(_add, f"the address {name} is already in use"))


async def remove_alias(db: Database, address: str) -> None:
    """Raises NotFound; InvalidInput for a primary address."""
    try:
        name, _ = normalize_address(address)
    except InvalidInput:
        raise NotFound(f"no alias {address!r}") from None

    async def _remove(tx: Tx) -> None:
        row = (await tx.conn.execute(select(A.c.is_primary).where(A.c.address == name))).first()
        if row is None:
            raise NotFound(f"no alias {name}")
        if row.is_primary:
            raise InvalidInput(f"{name} is a primary address, not an alias", field="address")
        await tx.conn.execute(delete(A).where(A.c.address == name))

    await db.write(_remove)


async def list_aliases(db: Database, principal_id: PrincipalId) -> Sequence[str]:
    async def _list(conn: AsyncConnection) -> list[str]:
        rows = await conn.execute(
            select(A.c.address)
            .where(A.c.principal_id == principal_id, A.c.is_primary.is_(False))
            .order_by(A.c.address)
        )
        return [r.address for r in rows]

    return await db.read(_list)


# --- groups ----------------------------------------------------------------------------
async def add_member(db: Database, group_id: PrincipalId, member_id: PrincipalId) -> None:
    """Raises NotFound, InvalidInput (not a group, or the edge makes a cycle)."""

    async def _add(tx: Tx) -> None:
        group = await load_principal(tx.conn, group_id)
        if group.kind is not PrincipalKind.GROUP:
            raise InvalidInput(f"{group.name} is not a group", field="group")
        await load_principal(tx.conn, member_id)
        if await graph.would_cycle(tx.conn, group_id, member_id):
            raise InvalidInput(f"adding {member_id} to {group.name} would make a loop")
        await tx.conn.execute(
            insert_ignore(tx.conn, graph.GM).values(group_id=group_id, member_id=member_id)
        )

    await db.write(_add)


async def remove_member(db: Database, group_id: PrincipalId, member_id: PrincipalId) -> None:
    """Raises NotFound when `member_id` is not a direct member."""

    async def _remove(tx: Tx) -> None:
        result = await tx.conn.execute(
            delete(graph.GM).where(
                graph.GM.c.group_id == group_id, graph.GM.c.member_id == member_id
            )
        )
        if not result.rowcount:
            raise NotFound(f"principal {member_id} is not a member of {group_id}")

    await db.write(_remove)


async def list_members(db: Database, group_id: PrincipalId) -> Sequence[Principal]:
    """Direct members, ordered by name. Raises NotFound."""

    async def _list(conn: AsyncConnection) -> list[Principal]:
        await load_principal(conn, group_id)
        rows = await conn.execute(
            principal_columns()
            .join(graph.GM, graph.GM.c.member_id == P.c.id)
            .where(graph.GM.c.group_id == group_id)
            .order_by(P.c.name)
        )
        return [principal_from_row(r) for r in rows]

    return await db.read(_list)


async def expand_group(db: Database, group_id: PrincipalId) -> Sequence[Principal]:
    """Data-owning principals reachable through nested groups, each once; a
    data-owning principal expands to itself. Raises NotFound."""

    async def _expand(conn: AsyncConnection) -> Sequence[Principal]:
        principal = await load_principal(conn, group_id)
        if principal.kind is not PrincipalKind.GROUP:
            return [principal]
        return await graph.expand(conn, group_id)

    return await db.read(_expand, quick=True)


# --- permissions ----------------------------------------------------------------------
async def grant(
    db: Database, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
) -> None:
    """Idempotent. Raises NotFound."""

    async def _grant(tx: Tx) -> None:
        await load_principal(tx.conn, owner_id)
        await load_principal(tx.conn, grantee_id)
        await tx.conn.execute(
            insert_ignore(tx.conn, schema.permissions).values(
                owner_id=owner_id, grantee_id=grantee_id, permission=permission.value
            )
        )

    await db.write(_grant)


async def revoke(
    db: Database, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
) -> None:
    """Idempotent: revoking a grant that does not exist is not an error."""
    perms = schema.permissions

    async def _revoke(tx: Tx) -> None:
        await tx.conn.execute(
            delete(perms).where(
                perms.c.owner_id == owner_id,
                perms.c.grantee_id == grantee_id,
                perms.c.permission == permission.value,
            )
        )

    await db.write(_revoke)


async def permissions_of(
    db: Database, grantee_id: PrincipalId
) -> Sequence[tuple[PrincipalId, Permission]]:
    """(owner, permission) pairs granted to `grantee_id`, directly or via a group."""
    return await db.read(lambda conn: graph.inherited_grants(conn, grantee_id), quick=True)


# --- resources ---------------------------------------------------------------------------
async def set_resource_policy(
    db: Database, principal_id: PrincipalId, policy: ResourcePolicy
) -> None:
    """Raises NotFound, InvalidInput (not a room or equipment)."""

    async def _set(tx: Tx) -> None:
        principal = await load_principal(tx.conn, principal_id)
        if principal.kind not in (PrincipalKind.ROOM, PrincipalKind.EQUIPMENT):
            raise InvalidInput(f"{principal.name} is not a resource", field="principal")
        await tx.conn.execute(
            update(P).where(P.c.id == principal_id).values(resource_policy=policy_to_json(policy))
        )

    await db.write(_set)


async def resource_policy(db: Database, principal_id: PrincipalId) -> ResourcePolicy:
    """The stored policy, or the default one. Raises NotFound."""

    async def _get(conn: AsyncConnection) -> ResourcePolicy:
        row = (
            await conn.execute(select(P.c.resource_policy).where(P.c.id == principal_id))
        ).first()
        if row is None:
            raise NotFound(f"principal {principal_id} does not exist")
        return policy_from_json(row.resource_policy)

    return await db.read(_get)
