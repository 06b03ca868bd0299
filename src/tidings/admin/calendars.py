"""Sharing of calendars and address books for admins and owners, audited.

An admin in scope acts as the owner (a role that may only read is refused changes);
anyone else acts as itself, so the store's one check decides (the owner, FULL_ACCESS
or a `manage` grant may share; others get NotFound). Levels: free_busy, read,
read_write, manage (decision 0005a).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.admin.roles import Actor, Op, authorize, may
from tidings.directory.addresses import normalize_address
from tidings.model.dav import CollectionKind, DAVCollection, ShareLevel
from tidings.model.errors import InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import AccountId
from tidings.policy.audit import AuditTrail

if TYPE_CHECKING:
    from tidings.model.directory import Principal
    from tidings.store.services import DAVService, DirectoryService

log = logging.getLogger(__name__)

SHAREABLE = (CollectionKind.CALENDAR, CollectionKind.ADDRESSBOOK)


class CalendarAdminService:
    """List, grant and revoke per-collection shares (`/v1/principals/.../shares`)."""

    def __init__(self, dav: DAVService, directory: DirectoryService, trail: AuditTrail) -> None:
        self.dav = dav
        self.directory = directory
        self.trail = trail

    async def shares(
        self, actor: Actor, owner: str, kind: CollectionKind, name: str
    ) -> list[dict[str, str]]:
        """The collection's grants as {grantee, grantee_kind, level}, by grantee."""
        acting, _, collection = await self._collection(actor, Op.READ, owner, kind, name)
        rows = []
        for grant in await self.dav.collection_acl(acting, collection.id):
            grantee = await self.directory.get_principal(grant.grantee)
            rows.append(
                {"grantee": grantee.name, "grantee_kind": grantee.kind.value,
                 "level": grant.level.value}
            )  # fmt: skip
        return sorted(rows, key=lambda row: row["grantee"])

    async def share(
        self,
        actor: Actor,
        owner: str,
        kind: CollectionKind,
        name: str,
        grantee: str,
        level: ShareLevel | None,
    ) -> dict[str, str | None]:
        """Grant `grantee` (a user or group) `level`; None revokes (NotFound if there was
        no grant). One audit record per change."""
        acting, owner_p, collection = await self._collection(
            actor, Op.COLLECTION_SHARE, owner, kind, name
        )
        target = await self._grantee(grantee)
        before = await self._level(acting, collection, target)
        if level is None and before is None:
            raise NotFound(f"{target.name} has no share of this collection")
        await self.dav.share_collection(acting, collection.id, target.id, level)
        object_id = f"{owner_p.name}/{kind.value}/{collection.name}"
        change_before = {"grantee": target.name, "level": before} if before else None
        change_after = {"grantee": target.name, "level": level.value} if level else None
        await self.trail.record(
            actor=actor.name,
            actor_address=actor.address,
            remote_ip=actor.remote_ip,
            action="collection.share" if level is not None else "collection.unshare",
            object_type="collection",
            object_id=object_id,
            before=change_before,
            after=change_after,
        )
        log.info(
            "admin.collection_shared collection=%d grantee=%s level=%s by=%s",
            collection.id, target.name, level.value if level else "none", actor.name,
        )
        return {"owner": owner_p.name, "kind": kind.value,
                "collection": collection.name, "grantee": target.name,
                "level": level.value if level else None}  # fmt: skip

    # --- helpers --------------------------------------------------------------------
    async def _collection(
        self, actor: Actor, op: Op, owner: str, kind: CollectionKind, name: str
    ) -> tuple[Principal, Principal, DAVCollection]:
        """Whom the store sees acting, the owner and the collection. Raises NotFound,
        PermissionDenied, InvalidInput."""
        if kind not in SHAREABLE:
            raise InvalidInput("only calendars and address books are shared", field="kind")
        address = normalize_address(owner)
        try:
            principal = await self.directory.find_principal(address)
        except NotFound:
            raise NotFound(f"{address} does not exist") from None
        if not principal.kind.owns_data or principal.name != address:
            raise NotFound(f"{address} does not exist")
        acting = self._acting(actor, op, principal)
        found = await self.dav.list_collections(acting, AccountId(principal.id), kind)
        for collection in found:
            if collection.name == name:
                return acting, principal, collection
        raise NotFound(f"{address} has no {kind.value} called {name}")

    def _acting(self, actor: Actor, op: Op, owner: Principal) -> Principal:
        if actor.principal is not None and int(actor.principal.id) == int(owner.id):
            return owner
        if may(actor, Op.READ) and actor.sees_domain(owner.domain):
            # An admin in scope acts as the owner would; one whose role may only read
            # gets PermissionDenied here (it may know the collection exists).
            authorize(actor, op, target=owner)
            return owner
        # Outside an admin's scope, or a plain user: the store's own check decides
        # (NotFound for a collection the actor may not see, so nothing leaks).
        if actor.principal is None:
            raise PermissionDenied(f"the {actor.role.value} role may not share collections")
        return actor.principal

    async def _grantee(self, address: str) -> Principal:
        try:
            return await self.directory.find_principal(normalize_address(address))
        except NotFound:
            raise NotFound(f"{address} does not exist") from None

    async def _level(
        self, acting: Principal, collection: DAVCollection, grantee: Principal
    ) -> str | None:
        for grant in await self.dav.collection_acl(acting, collection.id):
            if int(grant.grantee) == int(grantee.id):
                return grant.level.value
        return None
