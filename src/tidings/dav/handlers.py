"""The DAV command layer: the only code here that awaits services (RFC 4918 §9,
RFC 4791 §5.3, RFC 6352 §6.3, RFC 5689)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from tidings.calendar.ical import COMPONENTS, new_calendar_object
from tidings.calendar.vcard import new_contact_object
from tidings.dav import paths
from tidings.dav.errors import XML, DAVResponse
from tidings.dav.props import (
    CollectionResource,
    HomeResource,
    ObjectResource,
    PrincipalResource,
    Resource,
    etag_header,
    propfind_response,
)
from tidings.dav.requests import (
    PropertyUpdate,
    parse_property_update,
    parse_propfind,
)
from tidings.dav.scheduling import SCHEDULE_TRANSP, ImplicitScheduling, transparency
from tidings.dav.xml import (
    CALDAV,
    CARDDAV,
    DAV,
    ICAL,
    MalformedXML,
    PropResult,
    multistatus,
    parse_xml,
    response,
    tag,
)
from tidings.model.dav import (
    CollectionKind,
    CollectionPatch,
    DAVCollection,
    NewCollection,
    ShareLevel,
)
from tidings.model.directory import Principal
from tidings.model.errors import NotFound
from tidings.model.ids import AccountId, PrincipalId
from tidings.store.services import DAVService, DirectoryService

CONTENT_TYPES = {CollectionKind.CALENDAR: "text/calendar", CollectionKind.ADDRESSBOOK: "text/vcard"}
PATCHABLE = {
    tag(DAV, "displayname"): "display_name",
    tag(CALDAV, "calendar-description"): "description",
    tag(CARDDAV, "addressbook-description"): "description",
    tag(ICAL, "calendar-color"): "color",
    tag(CALDAV, "calendar-timezone"): "timezone",
}


@dataclass(frozen=True, slots=True)
class DAVRequest:
    method: str
    path: str
    body: bytes
    depth: str = "0"
    if_match: str | None = None
    if_none_match: bool = False


class GALMember(Protocol):
    """The organisation address book's entry in an address-book home (dav/gal.py)."""

    async def member(self, actor: Principal) -> tuple[str, Resource]: ...


def strip_etag(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


class DAVHandlers:
    """One request in, one response out; the actor is already authenticated."""

    def __init__(self, dav: DAVService, directory: DirectoryService) -> None:
        self.dav = dav
        self.directory = directory
        self.gal: GALMember | None = None  # set by the router (dav/gal.py)
        self.scheduling: ImplicitScheduling | None = None  # set by the router (RFC 6638)
        self.methods: dict[str, Callable[[DAVRequest, Principal], Awaitable[DAVResponse]]] = {
            "PROPFIND": self.propfind,
            "PROPPATCH": self.proppatch,
            "MKCALENDAR": self.mkcol,
            "MKCOL": self.mkcol,
            "GET": self.get,
            "HEAD": self.get,
            "PUT": self.put,
            "DELETE": self.delete,
        }

    async def owner(self, address: str) -> Principal:
        """The principal an URL names; groups own no data. Raises NotFound."""
        principal = await self.directory.find_principal(address)
        if not principal.kind.owns_data or principal.name != address:
            raise NotFound("no such principal")
        return principal

    async def collection(
        self, actor: Principal, kind: CollectionKind, address: str, name: str
    ) -> tuple[Principal, DAVCollection]:
        owner = await self.owner(address)
        found = await self.dav.get_collection(actor, AccountId(owner.id), kind, name)
        return owner, found

    # --- PROPFIND ---------------------------------------------------------------------
    async def propfind(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        wanted = parse_propfind(parse_xml(request.body))
        target = paths.parse_path(request.path)
        resources = await self.resources(target, actor, request.depth)
        return propfind_response(resources, actor, wanted)

    async def resources(
        self, target: paths.Target | None, actor: Principal, depth: str
    ) -> list[tuple[str, Resource]]:
        """The resource a path names and, with Depth 1, its members."""
        deep = depth != "0"
        match target:
            case paths.Root():
                me = PrincipalResource(actor)
                return [(f"{paths.PREFIX}/", me)]
            case paths.PrincipalPath(address=address):
                owner = await self.owner(address)
                return [(paths.principal_href(owner.name), PrincipalResource(owner))]
            case paths.HomePath(kind=kind, address=address):
                owner = await self.owner(address)
                listed = await self.dav.list_collections(actor, AccountId(owner.id), kind)
                found: list[tuple[str, Resource]] = [
                    (paths.home_href(kind, owner.name), HomeResource(kind, owner))
                ]
                if deep:
                    found += [
                        (
                            paths.collection_href(kind, owner.name, c.name),
                            self._res(c, owner, actor),
                        )
                        for c in listed
                    ]
                    if int(owner.id) == int(actor.id):
                        found += await self.extra_members(kind, actor)
                return found
            case paths.CollectionPath(kind=kind, address=address, name=name):
                owner, collection = await self.collection(actor, kind, address, name)
                href = paths.collection_href(kind, owner.name, collection.name)
                found = [(href, self._res(collection, owner, actor))]
                if deep and collection.access.allows(ShareLevel.READ):
                    objects = await self.dav.list_objects(actor, collection.id)
                    found += [(href + paths._q(o.name), ObjectResource(o, kind)) for o in objects]
                return found
            case paths.ObjectPath(kind=kind, address=address, collection=coll, name=name):
                owner, collection = await self.collection(actor, kind, address, coll)
                obj = await self.dav.get_object(actor, collection.id, name)
                href = paths.object_href(kind, owner.name, collection.name, obj.name)
                return [(href, ObjectResource(obj, kind))]
        raise NotFound("no such resource")

    def _res(self, collection: DAVCollection, owner: Principal, actor: Principal) -> Resource:
        writable = collection.access.allows(ShareLevel.READ_WRITE)
        return CollectionResource(collection, owner, writable=writable)

    async def extra_members(
        self, kind: CollectionKind, actor: Principal
    ) -> list[tuple[str, Resource]]:
        """What joins the actor's own home set besides its collections: collections
        shared with it (at their owner's href, which clients follow) and the GAL."""
        found: list[tuple[str, Resource]] = []
        for shared in await self.dav.shared_collections(actor, kind):
            owner = await self.directory.get_principal(PrincipalId(int(shared.account_id)))
            href = paths.collection_href(kind, owner.name, shared.name)
            found.append((href, self._res(shared, owner, actor)))
        if kind is CollectionKind.ADDRESSBOOK and self.gal is not None:
            found.append(await self.gal.member(actor))
        return found

    # --- PROPPATCH, MKCALENDAR, MKCOL ------------------------------------------------
    async def proppatch(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        target = paths.parse_path(request.path)
        if not isinstance(target, paths.CollectionPath):
            return DAVResponse(403, b"only collection properties can be changed")
        update = parse_property_update(parse_xml(request.body), (tag(DAV, "propertyupdate"),))
        owner, collection = await self.collection(actor, target.kind, target.address, target.name)
        patch, result = _patch(update)
        if result.forbidden:
            # RFC 4918 §9.2: all or nothing; the others fail with 424.
            result = PropResult(forbidden=result.forbidden, missing=[])
        else:
            await self.dav.update_collection(actor, collection.id, patch)
        href = paths.collection_href(target.kind, owner.name, collection.name)
        return DAVResponse(207, multistatus([response(href, result)]), {"Content-Type": XML})

    async def mkcol(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        target = paths.parse_path(request.path)
        if not isinstance(target, paths.CollectionPath):
            return DAVResponse(403, b"collections are made directly in a home set")
        expected = (tag(CALDAV, "mkcalendar"), tag(DAV, "mkcol"))
        update = parse_property_update(parse_xml(request.body), expected)
        kind = target.kind
        if request.method == "MKCALENDAR":
            if kind is not CollectionKind.CALENDAR:
                return DAVResponse(403, b"MKCALENDAR only in a calendar home")
        elif update.resourcetypes and (tag(CARDDAV, "addressbook") in update.resourcetypes) != (
            kind is CollectionKind.ADDRESSBOOK
        ):
            return DAVResponse(403, b"this home holds only one kind of collection")
        patch, _result = _patch(update)
        components = _components(update.set.get(tag(CALDAV, "supported-calendar-component-set")))
        owner = await self.owner(target.address)
        await self.dav.create_collection(
            actor,
            AccountId(owner.id),
            NewCollection(
                kind,
                target.name,
                display_name=patch.display_name or "",
                description=patch.description or "",
                color=patch.color or "",
                timezone=patch.timezone or "",
                components=components,
            ),
        )
        return DAVResponse(201, headers={"Cache-Control": "no-cache"})

    # --- GET, PUT, DELETE --------------------------------------------------------------
    async def get(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        target = paths.parse_path(request.path)
        if not isinstance(target, paths.ObjectPath):
            if target is None:
                raise NotFound("no such resource")
            await self.resources(target, actor, "0")  # 404 when it is not visible
            return DAVResponse(200, b"", {"Content-Type": "text/plain"})
        _, collection = await self.collection(actor, target.kind, target.address, target.collection)
        obj = await self.dav.get_object(actor, collection.id, target.name)
        content_type = f"{CONTENT_TYPES[target.kind]}; charset=utf-8"
        body = b"" if request.method == "HEAD" else obj.data.encode()
        return DAVResponse(200, body, {"Content-Type": content_type, "ETag": etag_header(obj)})

    async def put(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        target = paths.parse_path(request.path)
        if not isinstance(target, paths.ObjectPath):
            return DAVResponse(405, b"PUT names an object inside a collection")
        _owner, collection = await self.collection(
            actor, target.kind, target.address, target.collection
        )
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"  # fails validation below with the precondition error
        if target.kind is CollectionKind.CALENDAR:
            new = new_calendar_object(target.name, text, collection.components)
        else:
            new = new_contact_object(target.name, text)
        scheduling = self.scheduling
        pending = await scheduling.before(actor, _owner, collection, new.name, text) if (
            scheduling is not None
        ) else None
        obj, created = await self.dav.put_object(
            actor,
            collection.id,
            new,
            if_match=request.if_match,
            if_none_match=request.if_none_match,
        )
        headers = {"ETag": etag_header(obj)}
        if scheduling is not None and not await scheduling.after(_owner, pending, obj.data):
            headers = {}  # the scheduler rewrote it: the client must fetch it again
        return DAVResponse(201 if created else 204, headers=headers)

    async def delete(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        target = paths.parse_path(request.path)
        match target:
            case paths.ObjectPath(kind=kind, address=address, collection=coll, name=name):
                owner, collection = await self.collection(actor, kind, address, coll)
                scheduling = self.scheduling
                pending = await scheduling.before(actor, owner, collection, name, None) if (
                    scheduling is not None
                ) else None
                await self.dav.delete_object(actor, collection.id, name, if_match=request.if_match)
                if scheduling is not None:
                    await scheduling.after(owner, pending, None)
            case paths.CollectionPath(kind=kind, address=address, name=name):
                _, collection = await self.collection(actor, kind, address, name)
                await self.dav.delete_collection(actor, collection.id)
            case _:
                return DAVResponse(403, b"this resource cannot be deleted")
        return DAVResponse(204)


def _patch(update: PropertyUpdate) -> tuple[CollectionPatch, PropResult]:
    values: dict[str, str] = {}
    result = PropResult()
    for name, node in update.set.items():
        if name in (tag(CALDAV, "supported-calendar-component-set"), SCHEDULE_TRANSP):
            result.found.append(ET.Element(name))
            continue
        field_name = PATCHABLE.get(name)
        if field_name is None:
            result.forbidden.append(name)
        else:
            values[field_name] = node.text or ""
            result.found.append(ET.Element(name))
    for name in update.remove:
        field_name = PATCHABLE.get(name)
        if name == SCHEDULE_TRANSP:
            result.found.append(ET.Element(name))
        elif field_name is None:
            result.forbidden.append(name)
        else:
            values[field_name] = ""
            result.found.append(ET.Element(name))
    return CollectionPatch(**values, transparent=transparency(update.set, update.remove)), result


def _components(node: ET.Element | None) -> frozenset[str]:
    if node is None:
        return frozenset()
    names = frozenset((c.get("name") or "").upper() for c in node)
    if not names <= frozenset(COMPONENTS):
        raise MalformedXML("supported components are VEVENT, VTODO and VJOURNAL")
    return names
