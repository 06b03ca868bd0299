"""Group membership graph queries: nested expansion and group-inherited grants.

Both walk `group_members` with a recursive CTE whose UNION (not UNION ALL)
drops rows already seen, so a membership loop ends the walk instead of hanging.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import CTE, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.ids import PrincipalId
from tidings.store.sql import schema
from tidings.store.sql.directory_rows import P, principal_columns, principal_from_row

GM = schema.group_members


def descendants(group_id: PrincipalId) -> CTE:
    """Every principal reachable downwards from `group_id` (members, their members...)."""
    reach = (
        select(GM.c.member_id.label("id"))
        .where(GM.c.group_id == group_id)
        .cte("reach", recursive=True)
    )
    step = GM.alias("step")
    return reach.union(select(step.c.member_id).where(step.c.group_id == reach.c.id))


def ancestors(principal_id: PrincipalId) -> CTE:
    """`principal_id` and every group that contains it, directly or through nesting."""
    seed = select(P.c.id.label("id")).where(P.c.id == principal_id)
    up = seed.cte("up", recursive=True)
    step = GM.alias("step")
    return up.union(select(step.c.group_id).where(step.c.member_id == up.c.id))


async def expand(conn: AsyncConnection, group_id: PrincipalId) -> Sequence[Principal]:
    """Data-owning principals below `group_id`, each once, ordered by name."""
    reach = descendants(group_id)
    rows = await conn.execute(
        principal_columns()
        .where(P.c.id.in_(select(reach.c.id)), P.c.kind != PrincipalKind.GROUP.value)
        .order_by(P.c.name)
    )
    return [principal_from_row(row) for row in rows]


async def would_cycle(conn: AsyncConnection, group_id: PrincipalId, member_id: PrincipalId) -> bool:
    """True if making `member_id` a member of `group_id` closes a loop."""
    if group_id == member_id:
        return True
    reach = descendants(member_id)
    found = await conn.execute(select(reach.c.id).where(reach.c.id == group_id).limit(1))
    return found.first() is not None


async def inherited_grants(
    conn: AsyncConnection, grantee_id: PrincipalId
) -> Sequence[tuple[PrincipalId, Permission]]:
    """(owner, permission) granted to the grantee or to any group it belongs to."""
    up = ancestors(grantee_id)
    perms = schema.permissions
    rows = await conn.execute(
        select(perms.c.owner_id, perms.c.permission)
        .where(perms.c.grantee_id.in_(select(up.c.id)))
        .distinct()
        .order_by(perms.c.owner_id, perms.c.permission)
    )
    return [(PrincipalId(int(r.owner_id)), Permission(r.permission)) for r in rows]
