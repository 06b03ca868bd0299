"""Per-collection sharing: the `collection_acl` rows (decision 0005a).

A grant gives one user or group a `ShareLevel` on one calendar or address book.
The actor's level in a collection is the highest of its own grant and those of
every group containing it (nested groups included); `collections.py` combines it
with the account-wide permissions in the one authorization check.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.dav import CollectionGrant, CollectionKind, ShareLevel
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import PrincipalId
from tidings.store.sql import schema


async def grant_levels(
    conn: AsyncConnection, grantees: Collection[int], collection_ids: Collection[int]
) -> dict[int, ShareLevel]:
    """The best level any of `grantees` holds, per collection (absent: no grant)."""
    if not collection_ids:
        return {}
    acl = schema.collection_acl
    rows = await conn.execute(
        select(acl.c.collection_id, acl.c.level).where(
            acl.c.grantee_id.in_(list(grantees)), acl.c.collection_id.in_(list(collection_ids))
        )
    )
    best: dict[int, ShareLevel] = {}
    for collection_id, value in rows:
        level = ShareLevel(value)
        current = best.get(int(collection_id))
        if current is None or level.rank > current.rank:
            best[int(collection_id)] = level
    return best


async def shared_collection_ids(
    conn: AsyncConnection, grantees: Collection[int], kind: CollectionKind, owner_id: int
) -> list[int]:
    """Collections of `kind` granted to any of `grantees`, in accounts other than the
    actor's own (`owner_id`)."""
    acl, collections = schema.collection_acl, schema.dav_collections
    rows = await conn.execute(
        select(collections.c.id)
        .select_from(acl.join(collections, collections.c.id == acl.c.collection_id))
        .where(
            acl.c.grantee_id.in_(list(grantees)),
            collections.c.kind == kind.value,
            collections.c.account_id != owner_id,
        )
        .distinct()
        .order_by(collections.c.id)
    )
    return [int(collection_id) for (collection_id,) in rows]


async def set_grant(
    conn: AsyncConnection, collection_id: int, grantee: PrincipalId, level: ShareLevel | None
) -> None:
    """Create, change or (level None) remove one grant. Raises NotFound for an unknown
    grantee, InvalidInput for one that cannot hold a grant."""
    principals = schema.principals
    found = (
        await conn.execute(select(principals.c.kind).where(principals.c.id == grantee))
    ).first()
    if found is None:
        raise NotFound("no such grantee")
    if found.kind not in ("user", "group"):
        raise InvalidInput("collections are shared with users or groups", field="grantee")
    acl = schema.collection_acl
    where = (acl.c.collection_id == collection_id) & (acl.c.grantee_id == grantee)
    if level is None:
        await conn.execute(delete(acl).where(where))
        return
    changed = await conn.execute(update(acl).where(where).values(level=level.value))
    if changed.rowcount == 0:
        await conn.execute(
            insert(acl).values(collection_id=collection_id, grantee_id=grantee, level=level.value)
        )


async def list_grants(conn: AsyncConnection, collection_id: int) -> Sequence[CollectionGrant]:
    acl = schema.collection_acl
    rows = await conn.execute(
        select(acl.c.grantee_id, acl.c.level)
        .where(acl.c.collection_id == collection_id)
        .order_by(acl.c.grantee_id)
    )
    return [
        CollectionGrant(collection_id, PrincipalId(int(grantee)), ShareLevel(level))
        for grantee, level in rows
    ]
