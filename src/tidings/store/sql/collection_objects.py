"""Calendar and contact objects: ETag preconditions, UID uniqueness, range index, sync.

A deleted object keeps its row (`deleted`, no data) so that RFC 6578
sync-collection can name it; which objects changed after a token is read from
the one change log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp
from tidings.model.dav import (
    CollectionChanges,
    CollectionKind,
    DAVCollection,
    DAVObject,
    InvalidSyncToken,
    NewDAVObject,
    PreconditionFailed,
    UIDConflict,
)
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import AccountId, ModSeq
from tidings.store.sql import schema
from tidings.store.sql.accounts import next_modseq, record_change
from tidings.store.sql.collections import object_kind
from tidings.store.sql.database import Tx
from tidings.store.sql.types import utcnow

MAX_NAME_CHARS = 255


def etag_of(data: str) -> str:
    """A strong ETag: the content hash (the same bytes always give the same tag)."""
    return hashlib.sha256(data.encode()).hexdigest()[:40]


def to_object(row: Any) -> DAVObject:
    return DAVObject(
        id=int(row.id),
        collection_id=int(row.collection_id),
        name=row.name,
        uid=row.uid,
        etag=row.etag,
        component=row.component,
        data=row.data,
        first_start=row.first_start,
        last_end=row.last_end,
        modseq=ModSeq(int(row.modseq)),
        modified_at=row.modified_at,
    )


def _live(collection_id: int) -> Any:
    objects = schema.dav_objects
    return and_(objects.c.collection_id == collection_id, objects.c.deleted.is_(False))


async def find_object(conn: AsyncConnection, collection_id: int, name: str) -> DAVObject:
    """Raises NotFound."""
    objects = schema.dav_objects
    row = (
        await conn.execute(select(objects).where(_live(collection_id), objects.c.name == name))
    ).one_or_none()
    if row is None:
        raise NotFound(f"no object named {name!r}")
    return to_object(row)


async def select_objects(
    conn: AsyncConnection,
    collection_id: int,
    *,
    names: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    component: str | None,
) -> list[DAVObject]:
    """By names, or overlapping [start, end) on the indexed bounds (a superset of the
    exact RFC 4791 §9.9 answer, which `tidings.calendar` then decides)."""
    objects = schema.dav_objects
    query = select(objects).where(_live(collection_id))
    if names is not None:
        query = query.where(objects.c.name.in_(list(names)))
    if component is not None:
        query = query.where(objects.c.component == component)
    if end is not None:
        query = query.where(or_(objects.c.first_start.is_(None), objects.c.first_start < end))
    if start is not None:
        query = query.where(or_(objects.c.last_end.is_(None), objects.c.last_end > start))
    rows = await conn.execute(query.order_by(objects.c.name))
    return [to_object(row) for row in rows]


async def objects_by_uid(
    conn: AsyncConnection, account: AccountId, kind: CollectionKind, uid: str
) -> list[DAVObject]:
    """Live objects with `uid` in any of the account's collections of `kind`."""
    objects, collections = schema.dav_objects, schema.dav_collections
    rows = await conn.execute(
        select(objects)
        .join(collections, collections.c.id == objects.c.collection_id)
        .where(
            collections.c.account_id == account,
            collections.c.kind == kind.value,
            objects.c.uid == uid,
            objects.c.deleted.is_(False),
        )
        .order_by(objects.c.collection_id, objects.c.name)
    )
    return [to_object(row) for row in rows]


def _check_preconditions(existing: Any, if_match: str | None, if_none_match: bool) -> None:
    live = existing is not None and not existing.deleted
    if if_none_match and live:
        raise PreconditionFailed("the resource exists (If-None-Match: *)")
    if if_match is not None:
        if not live:
            raise PreconditionFailed("the resource does not exist (If-Match)")
        if if_match != "*" and if_match != existing.etag:
            raise PreconditionFailed("the resource changed since you read it (If-Match)")


async def store_object(
    tx: Tx,
    collection: DAVCollection,
    new: NewDAVObject,
    if_match: str | None,
    if_none_match: bool,
) -> tuple[DAVObject, bool]:
    """Create or replace one object. Raises PreconditionFailed, UIDConflict."""
    if not new.name or len(new.name) > MAX_NAME_CHARS or "/" in new.name:
        raise InvalidInput("invalid resource name", field="name")
    objects = schema.dav_objects
    # One query for the row of this name and any live row holding this UID.
    rows = await tx.conn.execute(
        select(objects.c.id, objects.c.name, objects.c.etag, objects.c.deleted).where(
            objects.c.collection_id == collection.id,
            or_(
                objects.c.name == new.name,
                and_(objects.c.uid == new.uid, objects.c.deleted.is_(False)),
            ),
        )
    )
    existing = clash = None
    for row in rows:
        if row.name == new.name:
            existing = row
        elif clash is None:
            clash = row
    _check_preconditions(existing, if_match, if_none_match)
    if collection.kind is CollectionKind.SCHEDULE_INBOX:
        clash = None  # RFC 6638 §2.2: many iTIP messages may share a UID
    if clash is not None:
        raise UIDConflict(f"UID {new.uid!r} is already used", existing_name=clash.name)
    modseq = await next_modseq(tx, collection.account_id)
    now = utcnow()
    values = {
        "uid": new.uid,
        "etag": etag_of(new.data),
        "component": new.component,
        "data": new.data,
        "first_start": new.first_start,
        "last_end": new.last_end,
        "modseq": modseq,
        "deleted": False,
        "modified_at": now,
    }
    created = existing is None or bool(existing.deleted)
    if existing is None:
        result = await tx.conn.execute(
            insert(objects)
            .values(collection_id=collection.id, name=new.name, **values)
            .returning(objects.c.id)
        )
        object_id = int(result.scalar_one())
    else:
        object_id = int(existing.id)
        await tx.conn.execute(update(objects).where(objects.c.id == object_id).values(**values))
    await _touch(
        tx, collection, modseq, object_id, ChangeOp.CREATED if created else ChangeOp.UPDATED
    )
    stored = DAVObject(
        id=object_id,
        collection_id=collection.id,
        name=new.name,
        uid=new.uid,
        etag=etag_of(new.data),
        component=new.component,
        data=new.data,
        first_start=new.first_start,
        last_end=new.last_end,
        modseq=modseq,
        modified_at=now,
    )
    return stored, created


async def remove_object(tx: Tx, collection: DAVCollection, name: str, if_match: str | None) -> None:
    """Leave a row without data; the change log holds the tombstone."""
    objects = schema.dav_objects
    existing = (
        await tx.conn.execute(select(objects).where(_live(collection.id), objects.c.name == name))
    ).one_or_none()
    if existing is None:
        raise NotFound(f"no object named {name!r}")
    _check_preconditions(existing, if_match, False)
    modseq = await next_modseq(tx, collection.account_id)
    await tx.conn.execute(
        update(objects)
        .where(objects.c.id == existing.id)
        .values(
            deleted=True, data="", uid="", etag="", modseq=modseq, first_start=None, last_end=None
        )
    )
    await _touch(tx, collection, modseq, int(existing.id), ChangeOp.DESTROYED)


async def _touch(
    tx: Tx, collection: DAVCollection, modseq: ModSeq, object_id: int, op: ChangeOp
) -> None:
    """Move the collection's CTag and log the object's change."""
    await tx.conn.execute(
        update(schema.dav_collections)
        .where(schema.dav_collections.c.id == collection.id)
        .values(modseq=modseq)
    )
    await record_change(
        tx.conn,
        collection.account_id,
        modseq,
        object_kind(collection.kind),
        object_id,
        op,
        collection_id=collection.id,
    )


async def collection_changes(
    conn: AsyncConnection, collection: DAVCollection, token: ModSeq | None
) -> CollectionChanges:
    """RFC 6578 §3.2 from the change log. Raises InvalidSyncToken."""
    if token is None:
        everything = await select_objects(
            conn, collection.id, names=None, start=None, end=None, component=None
        )
        return CollectionChanges(collection.modseq, tuple(everything), ())
    pruned = (
        await conn.execute(
            select(schema.accounts.c.pruned_modseq).where(
                schema.accounts.c.id == collection.account_id
            )
        )
    ).scalar_one()
    if token > collection.modseq or token < int(pruned):
        raise InvalidSyncToken("this sync token is unknown or too old; sync again from scratch")
    changes = schema.changes
    rows = await conn.execute(
        select(changes.c.object_id)
        .where(
            changes.c.account_id == collection.account_id,
            changes.c.collection_id == collection.id,
            changes.c.kind == object_kind(collection.kind).value,
            changes.c.modseq > token,
        )
        .distinct()
    )
    ids = [int(object_id) for (object_id,) in rows]
    if not ids:
        return CollectionChanges(collection.modseq, (), ())
    objects = schema.dav_objects
    found = await conn.execute(select(objects).where(objects.c.id.in_(ids)))
    changed: list[DAVObject] = []
    removed: list[str] = []
    for row in found:
        if row.deleted:
            removed.append(row.name)
        else:
            changed.append(to_object(row))
    changed.sort(key=lambda o: o.name)
    return CollectionChanges(collection.modseq, tuple(changed), tuple(sorted(removed)))
