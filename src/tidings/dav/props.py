"""WebDAV properties of each kind of resource (RFC 4918 §15, RFC 4791 §5.2, §6.2,
RFC 6352 §6.2, RFC 5397, RFC 6578 §4, CalendarServer getctag)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import format_datetime

from tidings.dav.errors import XML, DAVResponse
from tidings.dav.paths import collection_href, home_href, principal_href, schedule_href
from tidings.dav.requests import Propfind
from tidings.dav.xml import (
    CALDAV,
    CARDDAV,
    CS,
    DAV,
    ICAL,
    PropResult,
    element,
    href,
    multistatus,
    response,
    tag,
)
from tidings.model.dav import CollectionKind, DAVCollection, DAVObject, ShareLevel
from tidings.model.directory import Principal

SYNC_TOKEN_PREFIX = "urn:tidings:sync:"


@dataclass(frozen=True, slots=True)
class PrincipalResource:
    principal: Principal


@dataclass(frozen=True, slots=True)
class HomeResource:
    kind: CollectionKind
    owner: Principal


@dataclass(frozen=True, slots=True)
class CollectionResource:
    collection: DAVCollection
    owner: Principal
    writable: bool = True


@dataclass(frozen=True, slots=True)
class ObjectResource:
    object: DAVObject
    kind: CollectionKind


Resource = PrincipalResource | HomeResource | CollectionResource | ObjectResource
Getter = Callable[[Resource, Principal], ET.Element | None]


def sync_token(collection: DAVCollection) -> str:
    return f"{SYNC_TOKEN_PREFIX}{collection.modseq}"


def etag_header(obj: DAVObject) -> str:
    return f'"{obj.etag}"'


def _owner(resource: Resource) -> Principal | None:
    match resource:
        case PrincipalResource(principal=p) | HomeResource(owner=p) | CollectionResource(owner=p):
            return p
    return None


def _resourcetype(resource: Resource, actor: Principal) -> ET.Element:
    node = element(tag(DAV, "resourcetype"))
    match resource:
        case PrincipalResource():
            node.append(element(tag(DAV, "principal")))
        case HomeResource():
            node.append(element(tag(DAV, "collection")))
        case CollectionResource(collection=c):
            node.append(element(tag(DAV, "collection")))
            special = "calendar" if c.kind is CollectionKind.CALENDAR else "addressbook"
            namespace = CALDAV if c.kind is CollectionKind.CALENDAR else CARDDAV
            node.append(element(tag(namespace, special)))
    return node


def _displayname(resource: Resource, actor: Principal) -> ET.Element | None:
    match resource:
        case PrincipalResource(principal=p):
            return element(tag(DAV, "displayname"), p.display_name or p.name)
        case CollectionResource(collection=c):
            return element(tag(DAV, "displayname"), c.display_name or c.name)
    return None


def _current_user_principal(resource: Resource, actor: Principal) -> ET.Element:
    return element(tag(DAV, "current-user-principal"), None, href(principal_href(actor.name)))


def _principal_url(resource: Resource, actor: Principal) -> ET.Element | None:
    owner = _owner(resource)
    if owner is None:
        return None
    return element(tag(DAV, "principal-URL"), None, href(principal_href(owner.name)))


def _owner_prop(resource: Resource, actor: Principal) -> ET.Element | None:
    owner = _owner(resource)
    if owner is None:
        return None
    return element(tag(DAV, "owner"), None, href(principal_href(owner.name)))


def _home_set(kind: CollectionKind, name: str) -> Getter:
    namespace = CALDAV if kind is CollectionKind.CALENDAR else CARDDAV

    def get(resource: Resource, actor: Principal) -> ET.Element | None:
        owner = _owner(resource)
        if not isinstance(resource, PrincipalResource) or owner is None:
            return None
        return element(tag(namespace, name), None, href(home_href(kind, owner.name)))

    return get


def _user_address_set(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, PrincipalResource):
        return None
    address = f"mailto:{resource.principal.name}"
    return element(tag(CALDAV, "calendar-user-address-set"), None, href(address))


def _schedule_box(box: str) -> Getter:
    """RFC 6638 §2.1.1, §2.2.1: schedule-outbox-URL and schedule-inbox-URL."""

    def get(resource: Resource, actor: Principal) -> ET.Element | None:
        if not isinstance(resource, PrincipalResource):
            return None
        url = schedule_href(resource.principal.name, box)
        return element(tag(CALDAV, f"schedule-{box}-URL"), None, href(url))

    return get


def _transp(resource: Resource, actor: Principal) -> ET.Element | None:
    """RFC 6638 §9.1 schedule-calendar-transp of a calendar."""
    if not isinstance(resource, CollectionResource):
        return None
    value = "transparent" if resource.collection.transparent else "opaque"
    if resource.collection.kind is not CollectionKind.CALENDAR:
        return None
    return element(tag(CALDAV, "schedule-calendar-transp"), None, element(tag(CALDAV, value)))


def _default_calendar(resource: Resource, actor: Principal) -> ET.Element | None:
    """RFC 6638 §9.2: where invitations land (the lazily created `default` calendar)."""
    if not isinstance(resource, PrincipalResource):
        return None
    url = collection_href(CollectionKind.CALENDAR, resource.principal.name, "default")
    return element(tag(CALDAV, "schedule-default-calendar-URL"), None, href(url))


def _user_type(resource: Resource, actor: Principal) -> ET.Element | None:
    """RFC 6638 §2.4.2: INDIVIDUAL, GROUP, ROOM or RESOURCE."""
    if not isinstance(resource, PrincipalResource):
        return None
    kind = resource.principal.kind.value.upper()
    value = {"USER": "INDIVIDUAL", "SHARED": "INDIVIDUAL", "EQUIPMENT": "RESOURCE"}.get(kind, kind)
    return element(tag(CALDAV, "calendar-user-type"), value)


def _collection_field(kind: CollectionKind | None, name: str, namespace: str, attr: str) -> Getter:
    def get(resource: Resource, actor: Principal) -> ET.Element | None:
        if not isinstance(resource, CollectionResource):
            return None
        if kind is not None and resource.collection.kind is not kind:
            return None
        return element(tag(namespace, name), str(getattr(resource.collection, attr)))

    return get


def _components(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, CollectionResource):
        return None
    if resource.collection.kind is not CollectionKind.CALENDAR:
        return None
    node = element(tag(CALDAV, "supported-calendar-component-set"))
    for name in sorted(resource.collection.components):
        comp = element(tag(CALDAV, "comp"))
        comp.set("name", name)
        node.append(comp)
    return node


def _address_data_types(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, CollectionResource):
        return None
    if resource.collection.kind is not CollectionKind.ADDRESSBOOK:
        return None
    node = element(tag(CARDDAV, "supported-address-data"))
    for version in ("3.0", "4.0"):
        data_type = element(tag(CARDDAV, "address-data-type"))
        data_type.set("content-type", "text/vcard")
        data_type.set("version", version)
        node.append(data_type)
    return node


def _reports(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, CollectionResource):
        return None
    if resource.collection.kind is CollectionKind.CALENDAR:
        names = [(CALDAV, "calendar-query"), (CALDAV, "calendar-multiget")]
        names.append((CALDAV, "free-busy-query"))
    else:
        names = [(CARDDAV, "addressbook-query"), (CARDDAV, "addressbook-multiget")]
    names.append((DAV, "sync-collection"))
    node = element(tag(DAV, "supported-report-set"))
    for namespace, name in names:
        report = element(tag(DAV, "report"), None, element(tag(namespace, name)))
        node.append(element(tag(DAV, "supported-report"), None, report))
    return node


# RFC 3744 §5.4 privileges per share level; CalDAV's read-free-busy (RFC 4791 §6.1.1).
_READ = [(DAV, "read"), (DAV, "read-current-user-privilege-set"), (CALDAV, "read-free-busy")]
_WRITE = [(DAV, "write-content"), (DAV, "bind"), (DAV, "unbind")]
_MANAGE = [(DAV, "write"), (DAV, "write-properties"), (DAV, "write-acl")]
_LEVEL_PRIVILEGES = {
    ShareLevel.FREE_BUSY: [(CALDAV, "read-free-busy")],
    ShareLevel.READ: _READ,
    ShareLevel.READ_WRITE: _READ + _WRITE + [(DAV, "write-properties")],
    ShareLevel.MANAGE: _READ + _WRITE + _MANAGE,
}


def _privileges(resource: Resource, actor: Principal) -> ET.Element:
    if isinstance(resource, CollectionResource):
        names = _LEVEL_PRIVILEGES[resource.collection.access]
        if not resource.writable:
            names = [n for n in names if n in _READ]
    else:
        names = [*_READ[:2], (DAV, "write"), *_WRITE, (DAV, "write-properties")]
    node = element(tag(DAV, "current-user-privilege-set"))
    for namespace, name in names:
        node.append(element(tag(DAV, "privilege"), None, element(tag(namespace, name))))
    return node


def _sync(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, CollectionResource):
        return None
    return element(tag(DAV, "sync-token"), sync_token(resource.collection))


def _ctag(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, CollectionResource):
        return None
    return element(tag(CS, "getctag"), str(resource.collection.modseq))


def _etag(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, ObjectResource):
        return None
    return element(tag(DAV, "getetag"), etag_header(resource.object))


def _content_type(resource: Resource, actor: Principal) -> ET.Element | None:
    if isinstance(resource, ObjectResource):
        kind = "text/calendar" if resource.kind is CollectionKind.CALENDAR else "text/vcard"
        return element(tag(DAV, "getcontenttype"), f"{kind}; charset=utf-8")
    return None


def _content_length(resource: Resource, actor: Principal) -> ET.Element | None:
    if not isinstance(resource, ObjectResource):
        return None
    return element(tag(DAV, "getcontentlength"), str(len(resource.object.data.encode())))


def _last_modified(resource: Resource, actor: Principal) -> ET.Element | None:
    """RFC 4918 §15.7: an RFC 1123 date (objects written before it was kept have none)."""
    if not isinstance(resource, ObjectResource) or resource.object.modified_at is None:
        return None
    return element(
        tag(DAV, "getlastmodified"), format_datetime(resource.object.modified_at, usegmt=True)
    )


GETTERS: dict[str, Getter] = {
    tag(DAV, "resourcetype"): _resourcetype,
    tag(DAV, "displayname"): _displayname,
    tag(DAV, "current-user-principal"): _current_user_principal,
    tag(DAV, "principal-URL"): _principal_url,
    tag(DAV, "owner"): _owner_prop,
    tag(DAV, "supported-report-set"): _reports,
    tag(DAV, "current-user-privilege-set"): _privileges,
    tag(DAV, "sync-token"): _sync,
    tag(DAV, "getetag"): _etag,
    tag(DAV, "getcontenttype"): _content_type,
    tag(DAV, "getcontentlength"): _content_length,
    tag(DAV, "getlastmodified"): _last_modified,
    tag(CS, "getctag"): _ctag,
    tag(CALDAV, "calendar-home-set"): _home_set(CollectionKind.CALENDAR, "calendar-home-set"),
    tag(CARDDAV, "addressbook-home-set"): _home_set(
        CollectionKind.ADDRESSBOOK, "addressbook-home-set"
    ),
    tag(CALDAV, "calendar-user-address-set"): _user_address_set,
    tag(CALDAV, "schedule-inbox-URL"): _schedule_box("inbox"),
    tag(CALDAV, "schedule-outbox-URL"): _schedule_box("outbox"),
    tag(CALDAV, "calendar-user-type"): _user_type,
    tag(CALDAV, "schedule-default-calendar-URL"): _default_calendar,
    tag(CALDAV, "schedule-calendar-transp"): _transp,
    tag(CALDAV, "supported-calendar-component-set"): _components,
    tag(CARDDAV, "supported-address-data"): _address_data_types,
    tag(CALDAV, "calendar-description"): _collection_field(
        CollectionKind.CALENDAR, "calendar-description", CALDAV, "description"
    ),
    tag(CALDAV, "calendar-timezone"): _collection_field(
        CollectionKind.CALENDAR, "calendar-timezone", CALDAV, "timezone"
    ),
    tag(ICAL, "calendar-color"): _collection_field(
        CollectionKind.CALENDAR, "calendar-color", ICAL, "color"
    ),
    tag(CARDDAV, "addressbook-description"): _collection_field(
        CollectionKind.ADDRESSBOOK, "addressbook-description", CARDDAV, "description"
    ),
}

# What allprop returns (RFC 4918 §9.1: the live properties defined by the specs used).
ALLPROP = (
    tag(DAV, "resourcetype"),
    tag(DAV, "displayname"),
    tag(DAV, "getetag"),
    tag(DAV, "getcontenttype"),
    tag(DAV, "getcontentlength"),
    tag(DAV, "getlastmodified"),
    tag(DAV, "sync-token"),
    tag(CS, "getctag"),
)


def render(resource: Resource, actor: Principal, names: Sequence[str]) -> PropResult:
    """Each asked property found, or listed as missing (404 propstat)."""
    result = PropResult()
    for name in names:
        getter = GETTERS.get(name)
        value = getter(resource, actor) if getter is not None else None
        if value is None:
            result.missing.append(name)
        else:
            result.found.append(value)
    return result


def render_names(resource: Resource, actor: Principal) -> PropResult:
    """PROPFIND propname: the names of every property this resource has."""
    found = [ET.Element(name) for name, get in GETTERS.items() if get(resource, actor) is not None]
    return PropResult(found=found)


def propfind_response(
    found: Sequence[tuple[str, Resource]], actor: Principal, wanted: Propfind
) -> DAVResponse:
    """The 207 multistatus a PROPFIND answers for these (href, resource) pairs."""
    answers = []
    for target, resource in found:
        if wanted.mode == "propname":
            result = render_names(resource, actor)
        else:
            result = render(resource, actor, wanted.names if wanted.mode == "prop" else ALLPROP)
            if wanted.mode == "allprop":
                result.missing.clear()
        answers.append(response(target, result))
    return DAVResponse(207, multistatus(answers), {"Content-Type": XML})
