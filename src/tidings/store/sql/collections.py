"""Calendar and address-book collections: rows, the one authorization check, CRUD.

Rights come from the directory's `permissions` table (Exchange style): the owner
and FULL_ACCESS manage everything; CALENDAR_DELEGATE and CALENDAR_EDITOR read and
write calendars; CALENDAR_REVIEWER reads them; FREE_BUSY sees only free/busy time.
Per-collection grants (`collection_acl.py`) to the actor or any of its groups add
to that, collection by collection. Anyone else is told NotFound.
"""

from __future__ import annotations

import enum
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.dav import (
    CollectionKind,
    CollectionPatch,
    DAVCollection,
    NewCollection,
    ShareLevel,
)
from tidings.model.directory import Permission, Principal
from tidings.model.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import AccountId, ModSeq
from tidings.store.sql import schema
from tidings.store.sql.access import groups_of
from tidings.store.sql.accounts import next_modseq, record_change
from tidings.store.sql.collection_acl import grant_levels
from tidings.store.sql.database import Tx

CALENDAR_COMPONENTS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})
# A URL segment: no slash, no dot-only names, nothing that needs quoting twice.
_NAME = re.compile(r"^[A-Za-z0-9@._~+=-][A-Za-z0-9@._~+=%-]{0,254}\Z")

DEFAULTS: dict[CollectionKind, NewCollection] = {
    CollectionKind.CALENDAR: NewCollection(
        CollectionKind.CALENDAR, "default", "Calendar", components=CALENDAR_COMPONENTS
    ),
    CollectionKind.ADDRESSBOOK: NewCollection(CollectionKind.ADDRESSBOOK, "contacts", "Contacts"),
    CollectionKind.SCHEDULE_INBOX: NewCollection(
        CollectionKind.SCHEDULE_INBOX, "inbox", "Scheduling inbox", components=CALENDAR_COMPONENTS
    ),
}
# Kinds holding iCalendar objects: calendar rights and calendar change kinds apply.
ICALENDAR_KINDS = frozenset({CollectionKind.CALENDAR, CollectionKind.SCHEDULE_INBOX})


class Level(enum.IntEnum):
    NONE = 0
    FREE_BUSY = 1  # free-busy-query only
    READ = 2
    WRITE = 3
    MANAGE = 4  # owner or FULL_ACCESS: create and delete collections, share them


_CALENDAR_LEVELS = {
    Permission.FULL_ACCESS.value: Level.MANAGE,
    Permission.CALENDAR_DELEGATE.value: Level.WRITE,
    Permission.CALENDAR_EDITOR.value: Level.WRITE,
    Permission.CALENDAR_REVIEWER.value: Level.READ,
    Permission.FREE_BUSY.value: Level.FREE_BUSY,
}
SHARE_LEVELS = {
    ShareLevel.FREE_BUSY: Level.FREE_BUSY,
    ShareLevel.READ: Level.READ,
    ShareLevel.READ_WRITE: Level.WRITE,
    ShareLevel.MANAGE: Level.MANAGE,
}
SHARE_OF = {level: share for share, level in SHARE_LEVELS.items()}


def object_kind(kind: CollectionKind) -> ObjectKind:
    return ObjectKind.CALENDAR_OBJECT if kind in ICALENDAR_KINDS else ObjectKind.CONTACT


def collection_kind(kind: CollectionKind) -> ObjectKind:
    return ObjectKind.CALENDAR if kind in ICALENDAR_KINDS else ObjectKind.ADDRESSBOOK


async def access_level(
    conn: AsyncConnection, actor: Principal, account: AccountId, kind: CollectionKind
) -> Level:
    """The actor's level in the account's collections of `kind`. Raises NotFound if the
    account does not exist."""
    if int(actor.id) == int(account):
        return Level.MANAGE  # a principal that can log in and owns data has its account
    exists = (
        await conn.execute(select(schema.accounts.c.id).where(schema.accounts.c.id == account))
    ).first()
    if exists is None:
        raise NotFound("no such account")
    grantees = {int(actor.id)} | await groups_of(conn, actor.id)
    perms = schema.permissions
    rows = await conn.execute(
        select(perms.c.permission).where(
            perms.c.owner_id == account, perms.c.grantee_id.in_(grantees)
        )
    )
    level = Level.NONE
    for (permission,) in rows:
        if kind in ICALENDAR_KINDS:
            level = max(level, _CALENDAR_LEVELS.get(permission, Level.NONE))
        elif permission == Permission.FULL_ACCESS.value:
            level = Level.MANAGE
    return level


async def grantees_of(conn: AsyncConnection, actor: Principal) -> set[int]:
    """The actor and every group containing it: whose grants apply to the actor."""
    return {int(actor.id)} | await groups_of(conn, actor.id)


def with_level(collection: DAVCollection, level: Level) -> DAVCollection:
    """The collection as the actor sees it (`access` says what it may do there)."""
    return replace(collection, access=SHARE_OF[level])


async def collection_level(
    conn: AsyncConnection, actor: Principal, collection: DAVCollection
) -> Level:
    """The one check: account-wide rights, raised by the collection's own grants."""
    level = await access_level(conn, actor, collection.account_id, collection.kind)
    if level is Level.MANAGE:
        return level
    grants = await grant_levels(conn, await grantees_of(conn, actor), [collection.id])
    granted = grants.get(collection.id)
    return max(level, SHARE_LEVELS[granted]) if granted is not None else level


async def visible_collections(
    conn: AsyncConnection, actor: Principal, account: AccountId, kind: CollectionKind
) -> list[DAVCollection]:
    """The account's collections of `kind` that the actor may see, each with its level.
    Raises NotFound when the actor may see none (existence never leaks)."""
    level = await access_level(conn, actor, account, kind)
    every = await select_collections(conn, account, kind)
    if level is Level.MANAGE:
        return [with_level(c, level) for c in every]
    grants = await grant_levels(conn, await grantees_of(conn, actor), [c.id for c in every])
    visible = []
    for collection in every:
        granted = grants.get(collection.id)
        best = max(level, SHARE_LEVELS[granted]) if granted is not None else level
        if best is not Level.NONE:
            visible.append(with_level(collection, best))
    if level is Level.NONE and not visible:
        raise NotFound("no such account")
    return visible


def require(level: Level, needed: Level) -> None:
    """NotFound without any right (nothing leaks), PermissionDenied below `needed`."""
    if level is Level.NONE:
        raise NotFound("no such collection")
    if level < needed:
        raise PermissionDenied("your rights on this collection do not allow this")


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
        transparent=bool(getattr(row, "transparent", False)),
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
    level = await collection_level(conn, actor, collection)
    require(level, needed)
    return with_level(collection, level)


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
    values: dict[str, str | bool] = {
        key: value
        for key, value in (
            ("display_name", patch.display_name),
            ("description", patch.description),
            ("color", patch.color),
            ("timezone", patch.timezone),
        )
        if value is not None
    }
    if patch.transparent is not None:
        values["transparent"] = patch.transparent
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
