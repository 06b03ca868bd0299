"""The DAV service: calendars, task lists and address books (`DAVService`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.dav import (
    CollectionChanges,
    CollectionGrant,
    CollectionKind,
    CollectionPatch,
    DAVCollection,
    DAVObject,
    NewCollection,
    NewDAVObject,
    ShareLevel,
)
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import AccountId, ModSeq, PrincipalId
from tidings.store.sql.collection_acl import (
    list_grants,
    set_grant,
    shared_collection_ids,
)
from tidings.store.sql.collection_objects import (
    collection_changes,
    find_object,
    objects_by_uid,
    remove_object,
    select_objects,
    store_object,
)
from tidings.store.sql.collections import (
    DEFAULTS,
    Level,
    access_level,
    grantees_of,
    insert_collection,
    open_collection,
    patch_collection,
    remove_collection,
    require,
    select_collections,
    visible_collections,
)
from tidings.store.sql.database import Database, Tx

log = logging.getLogger(__name__)


class SQLDAVService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_collections(
        self, actor: Principal, account: AccountId, kind: CollectionKind
    ) -> Sequence[DAVCollection]:
        async def read(conn: AsyncConnection) -> list[DAVCollection]:
            return await visible_collections(conn, actor, account, kind)

        found = await self.db.read(read)
        if found or int(actor.id) != int(account):
            return found

        # The owner's first look creates the default collection (lazily, so that
        # accounts made before calendars existed get one too).
        async def create(tx: Tx) -> list[DAVCollection]:
            if not await select_collections(tx.conn, account, kind):
                await insert_collection(tx, account, DEFAULTS[kind])
                log.info("dav.default_created account=%d kind=%s", account, kind.value)
            return await select_collections(tx.conn, account, kind)

        return await self.db.write(create)

    async def get_collection(
        self, actor: Principal, account: AccountId, kind: CollectionKind, name: str
    ) -> DAVCollection:
        for collection in await self.list_collections(actor, account, kind):
            if collection.name == name:
                return collection
        raise NotFound("no such collection")

    async def create_collection(
        self, actor: Principal, account: AccountId, new: NewCollection
    ) -> DAVCollection:
        async def write(tx: Tx) -> DAVCollection:
            require(await access_level(tx.conn, actor, account, new.kind), Level.MANAGE)
            return await insert_collection(tx, account, new)

        return await self.db.write(write)

    async def update_collection(
        self, actor: Principal, collection_id: int, patch: CollectionPatch
    ) -> DAVCollection:
        async def write(tx: Tx) -> DAVCollection:
            collection = await open_collection(tx.conn, actor, collection_id, Level.WRITE)
            return await patch_collection(tx, collection, patch)

        return await self.db.write(write)

    async def delete_collection(self, actor: Principal, collection_id: int) -> None:
        async def write(tx: Tx) -> None:
            collection = await open_collection(tx.conn, actor, collection_id, Level.MANAGE)
            await remove_collection(tx, collection)

        await self.db.write(write)

    async def get_object(self, actor: Principal, collection_id: int, name: str) -> DAVObject:
        async def read(conn: AsyncConnection) -> DAVObject:
            await open_collection(conn, actor, collection_id, Level.READ)
            return await find_object(conn, collection_id, name)

        return await self.db.read(read)

    async def list_objects(
        self,
        actor: Principal,
        collection_id: int,
        *,
        names: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        component: str | None = None,
    ) -> Sequence[DAVObject]:
        async def read(conn: AsyncConnection) -> list[DAVObject]:
            await open_collection(conn, actor, collection_id, Level.READ)
            return await select_objects(
                conn, collection_id, names=names, start=start, end=end, component=component
            )

        return await self.db.read(read)

    async def put_object(
        self,
        actor: Principal,
        collection_id: int,
        new: NewDAVObject,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> tuple[DAVObject, bool]:
        async def write(tx: Tx) -> tuple[DAVObject, bool]:
            collection = await open_collection(tx.conn, actor, collection_id, Level.WRITE)
            return await store_object(tx, collection, new, if_match, if_none_match)

        return await self.db.write(write)

    async def delete_object(
        self, actor: Principal, collection_id: int, name: str, *, if_match: str | None = None
    ) -> None:
        async def write(tx: Tx) -> None:
            collection = await open_collection(tx.conn, actor, collection_id, Level.WRITE)
            await remove_object(tx, collection, name, if_match)

        await self.db.write(write)

    async def changes_since(
        self, actor: Principal, collection_id: int, token: ModSeq | None
    ) -> CollectionChanges:
        async def read(conn: AsyncConnection) -> CollectionChanges:
            collection = await open_collection(conn, actor, collection_id, Level.READ)
            return await collection_changes(conn, collection, token)

        return await self.db.read(read)

    # --- sharing (docs/decisions/0005a-dav-sharing-gal.md) ---------------------------
    async def shared_collections(
        self, actor: Principal, kind: CollectionKind
    ) -> Sequence[DAVCollection]:
        async def read(conn: AsyncConnection) -> list[DAVCollection]:
            grantees = await grantees_of(conn, actor)
            ids = await shared_collection_ids(conn, grantees, kind, int(actor.id))
            found = []
            for collection_id in ids:
                # The same check as any other access: account rights may raise the level.
                try:
                    found.append(await open_collection(conn, actor, collection_id, Level.FREE_BUSY))
                except NotFound:
                    continue
            return found

        return await self.db.read(read)

    async def share_collection(
        self,
        actor: Principal,
        collection_id: int,
        grantee: PrincipalId,
        level: ShareLevel | None,
    ) -> None:
        async def write(tx: Tx) -> None:
            collection = await open_collection(tx.conn, actor, collection_id, Level.MANAGE)
            if int(grantee) == int(collection.account_id):
                raise InvalidInput("the owner needs no grant", field="grantee")
            if level is ShareLevel.FREE_BUSY and collection.kind is CollectionKind.ADDRESSBOOK:
                raise InvalidInput("free/busy sharing is for calendars", field="level")
            await set_grant(tx.conn, collection.id, grantee, level)
            log.info(
                "dav.shared collection=%d grantee=%d level=%s by=%d",
                collection.id,
                grantee,
                level.value if level else "none",
                actor.id,
            )

        await self.db.write(write)

    async def collection_acl(
        self, actor: Principal, collection_id: int
    ) -> Sequence[CollectionGrant]:
        async def read(conn: AsyncConnection) -> Sequence[CollectionGrant]:
            await open_collection(conn, actor, collection_id, Level.MANAGE)
            return await list_grants(conn, collection_id)

        return await self.db.read(read)

    async def free_busy_objects(
        self, actor: Principal, collection_id: int, start: datetime, end: datetime
    ) -> Sequence[DAVObject]:
        async def read(conn: AsyncConnection) -> list[DAVObject]:
            await open_collection(conn, actor, collection_id, Level.FREE_BUSY)
            return await select_objects(
                conn, collection_id, names=None, start=start, end=end, component="VEVENT"
            )

        return await self.db.read(read)

    async def find_by_uid(
        self, actor: Principal, account: AccountId, kind: CollectionKind, uid: str
    ) -> Sequence[DAVObject]:
        async def read(conn: AsyncConnection) -> list[DAVObject]:
            require(await access_level(conn, actor, account, kind), Level.READ)
            return await objects_by_uid(conn, account, kind, uid)

        return await self.db.read(read)
