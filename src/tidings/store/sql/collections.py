"""Calendar and address-book collections: rows, the one authorization check, CRUD.

Rights come from the directory's `permissions` table (Exchange style): the owner
and FULL_ACCESS manage everything; CALENDAR_DELEGATE and CALENDAR_EDITOR read and
write calendars; CALENDAR_REVIEWER reads them. Anyone else is told NotFound.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.dav import (
    CollectionKind,
    CollectionPatch,
    DAVCollection,
    NewCollection,
)
from tidings.model.directory import Permission, Principal
from tidings.model.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import AccountId, ModSeq
from tidings.store.sql import schema
from tidings.store.sql.access import groups_of
from tidings.store.sql.accounts import next_modseq, record_change
from tidings.store.sql.database import Tx

CALENDAR_COMPONENTS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})
# A URL segment: no slash, no dot-only names, nothing that needs quoting twice.
_NAME = re.compile(r"^[A-Za-z0-9@._~+=-][A-Za-z0-9@._~+=%-]{0,254}$")

DEFAULTS: dict[CollectionKind, NewCollection] = {
    CollectionKind.CALENDAR: NewCollection(
        CollectionKind.CALENDAR, "default", "Calendar", components=CALENDAR_COMPONENTS
    ),
    CollectionKind.ADDRESSBOOK: NewCollection(CollectionKind.ADDRESSBOOK, "contacts", "Contacts"),
}


class Level(enum.IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2
    MANAGE = 3  # owner or FULL_ACCESS: create and delete collections


_CALENDAR_LEVELS = {
    Permission.FULL_ACCESS.value: Level.MANAGE,
    Permission.CALENDAR_DELEGATE.value: Level.WRITE,
    Permission.CALENDAR_EDITOR.value: Level.WRITE,
    Permission.CALENDAR_REVIEWER.value: Level.READ,
}


def object_kind(kind: CollectionKind) -> ObjectKind:
    return ObjectKind.CALENDAR_OBJECT if kind is CollectionKind.CALENDAR else ObjectKind.CONTACT


def collection_kind(kind: CollectionKind) -> ObjectKind:
    return ObjectKind.CALENDAR if kind is CollectionKind.CALENDAR else ObjectKind.ADDRESSBOOK


async def access_level(
    conn: AsyncConnection, actor: Principal, account: AccountId, kind: CollectionKind
) -> Level:
    """The actor's level in the account's collections of `kind`. Raises NotFound if the
    account does not exist."""
    exists = (
        await conn.execute(select(schema.accounts.c.id).where(schema.accounts.c.id == account))
    ).first()
    if exists is None:
        raise NotFound("no such account")
    if int(actor.id) == int(account):
        return Level.MANAGE
    grantees = {int(actor.id)} | await groups_of(conn, actor.id)
    perms = schema.permissions
    rows = await conn.execute(
        select(perms.c.permission).where(
            perms.c.owner_id == account, perms.c.grantee_id.in_(grantees)
        )
    )
    level = Level.NONE
    for (permission,) in rows:
        if kind is CollectionKind.CALENDAR:
            level = max(level, _CALENDAR_LEVELS.get(permission, Level.NONE))
        elif permission == Permission.FULL_ACCESS.value:
            level = Level.MANAGE
    return level


def require(level: Level, needed: Level) -> None:
    """NotFound without any right (nothing leaks), PermissionDenied below `needed`."""
    if level is Level.NONE:
        raise NotFound("no such collection")
    if level < needed:
        raise PermissionDenied("you may not change this collection")


def to_collection(row: Any) -> DAVCollection:
    return DAVCollection(
        id=int(row.id),
        account_id=AccountId(int(row.account_id)),
        kind=CollectionKind(row.kind),
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        color=row.color,
        timezone=row.timezone,
        components=frozenset(c for c in row.components.split(",") if c),
        modseq=ModSeq(int(row.modseq)),
    )


async def open_collection(
    conn: AsyncConnection, actor: Principal, collection_id: int, needed: Level
) -> DAVCollection:
    """Load a collection and make the check. Raises NotFound, PermissionDenied."""
    row = (
        await conn.execute(
            select(schema.dav_collections).where(schema.dav_collections.c.id == collection_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such collection")
    collection = to_collection(row)
    require(await access_level(conn, actor, collection.account_id, collection.kind), needed)
    return collection


async def select_collections(
    conn: AsyncConnection, account: AccountId, kind: CollectionKind, name: str | None = None
) -> list[DAVCollection]:
    table = schema.dav_collections
    query = select(table).where(table.c.account_id == account, table.c.kind == kind.value)
    if name is not None:
        query = query.where(table.c.name == name)
    rows = await conn.execute(query.order_by(table.c.id))
    return [to_collection(row) for row in rows]


def validate_new(new: NewCollection) -> None:
    if not _NAME.match(new.name) or new.name in (".", ".."):
        raise InvalidInput(f"{new.name!r} is not a valid collection name", field="name")
    if new.kind is CollectionKind.CALENDAR and not new.components <= CALENDAR_COMPONENTS:
        raise InvalidInput("supported components are VEVENT, VTODO and VJOURNAL", "components")


async def insert_collection(tx: Tx, account: AccountId, new: NewCollection) -> DAVCollection:
    """Raises Conflict if the name is taken."""
    validate_new(new)
    if await select_collections(tx.conn, account, new.kind, new.name):
        raise Conflict(f"a collection named {new.name!r} exists")
    components = new.components
    if new.kind is CollectionKind.CALENDAR and not components:
        components = CALENDAR_COMPONENTS
    modseq = await next_modseq(tx, account)
    result = await tx.conn.execute(
        insert(schema.dav_collections)
        .values(
            account_id=account,
            kind=new.kind.value,
            name=new.name,
            display_name=new.display_name,
            description=new.description,
            color=new.color,
            timezone=new.timezone,
            components=",".join(sorted(components)),
            modseq=modseq,
        )
        .returning(schema.dav_collections.c.id)
    )
    collection_id = int(result.scalar_one())
    await record_change(
        tx.conn, account, modseq, collection_kind(new.kind), collection_id, ChangeOp.CREATED
    )
    return (await select_collections(tx.conn, account, new.kind, new.name))[0]


async def patch_collection(
    tx: Tx, collection: DAVCollection, patch: CollectionPatch
) -> DAVCollection:
    values = {
        key: value
        for key, value in (
            ("display_name", patch.display_name),
            ("description", patch.description),
            ("color", patch.color),
            ("timezone", patch.timezone),
        )
        if value is not None
    }
    modseq = await next_modseq(tx, collection.account_id)
    await tx.conn.execute(
        update(schema.dav_collections)
        .where(schema.dav_collections.c.id == collection.id)
        .values(modseq=modseq, **values)
    )
    await record_change(
        tx.conn,
        collection.account_id,
        modseq,
        collection_kind(collection.kind),
        collection.id,
        ChangeOp.UPDATED,
    )
    found = await select_collections(
        tx.conn, collection.account_id, collection.kind, collection.name
    )
    return found[0]


async def remove_collection(tx: Tx, collection: DAVCollection) -> None:
    """Tombstones for every live object and the collection, then the rows."""
    objects = schema.dav_objects
    modseq = await next_modseq(tx, collection.account_id)
    live = await tx.conn.execute(
        select(objects.c.id).where(
            objects.c.collection_id == collection.id, objects.c.deleted.is_(False)
        )
    )
    for (object_id,) in live:
        await record_change(
            tx.conn,
            collection.account_id,
            modseq,
            object_kind(collection.kind),
            int(object_id),
            ChangeOp.DESTROYED,
            collection_id=collection.id,
        )
    await record_change(
        tx.conn,
        collection.account_id,
        modseq,
        collection_kind(collection.kind),
        collection.id,
        ChangeOp.DESTROYED,
    )
    await tx.conn.execute(delete(objects).where(objects.c.collection_id == collection.id))
    await tx.conn.execute(
        delete(schema.dav_collections).where(schema.dav_collections.c.id == collection.id)
    )
