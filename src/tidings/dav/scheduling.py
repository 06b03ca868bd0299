"""The schedule inbox and outbox collections (RFC 6638 §2.1-2.2) and the outbox POST
for free/busy (RFC 6638 §5, RFC 5546 §3.3.1):

/dav/scheduling/<address>/inbox/         iTIP messages delivered to the user
/dav/scheduling/<address>/inbox/<name>   one message (GET, DELETE)
/dav/scheduling/<address>/outbox/        POST a VFREEBUSY REQUEST here
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import icalendar

from tidings.calendar.availability import freebusy_reply
from tidings.calendar.ical import parse_calendar, to_utc
from tidings.calendar.itip import address_of
from tidings.calendar.scheduling import Scheduler
from tidings.dav import paths
from tidings.dav.errors import XML, DAVResponse, precondition
from tidings.dav.requests import parse_propfind
from tidings.dav.xml import (
    CALDAV,
    CS,
    DAV,
    PropResult,
    element,
    href,
    multistatus,
    parse_xml,
    response,
    serialize,
    tag,
)
from tidings.model.dav import CollectionKind, DAVCollection, DAVObject
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import AccountId
from tidings.store.services import DAVService, DirectoryService

log = logging.getLogger(__name__)

BOXES = ("inbox", "outbox")
MAX_FREEBUSY_RECIPIENTS = 100


@dataclass(frozen=True, slots=True)
class BoxTarget:
    address: str
    box: str  # "inbox" or "outbox"
    name: str | None = None  # an inbox member


def parse_box_path(path: str) -> BoxTarget | None:
    """A request path under /dav/scheduling/; None if it names nothing there."""
    prefix = f"{paths.PREFIX}/{paths.SCHEDULING}/"
    if not path.startswith(prefix):
        return None
    parts = [unquote(p) for p in path[len(prefix) :].split("/") if p]
    if len(parts) not in (2, 3) or parts[1] not in BOXES or any(p in (".", "..") for p in parts):
        return None
    if len(parts) == 3 and parts[1] != "inbox":
        return None
    return BoxTarget(parts[0].lower(), parts[1], parts[2] if len(parts) == 3 else None)


Request = tuple[str, bytes, str]  # (method, body, depth)


class ScheduleBoxes:
    """Answers every request under /dav/scheduling/ (the router sends them here)."""

    def __init__(self, dav: DAVService, directory: DirectoryService, scheduler: Scheduler) -> None:
        self.dav = dav
        self.directory = directory
        self.scheduler = scheduler

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(f"{paths.PREFIX}/{paths.SCHEDULING}/")

    async def answer(
        self, method: str, path: str, body: bytes, depth: str, actor: Principal
    ) -> DAVResponse:
        target = parse_box_path(path)
        if target is None:
            raise NotFound("no such scheduling resource")
        owner = await self._owner(target.address)
        # The one rights check: the actor must reach the owner's inbox (owner, delegates).
        inbox = await self._inbox(actor, owner)
        match (method, target.box, target.name):
            case ("PROPFIND", _, None):
                return await self._propfind(target, owner, inbox, body, depth, actor)
            case ("PROPFIND", "inbox", str(name)):
                obj = await self.dav.get_object(actor, inbox.id, name)
                return _multistatus([self._member(owner, obj, body)])
            case ("GET" | "HEAD", "inbox", str(name)):
                obj = await self.dav.get_object(actor, inbox.id, name)
                data = b"" if method == "HEAD" else obj.data.encode()
                headers = {"Content-Type": "text/calendar; charset=utf-8", "ETag": f'"{obj.etag}"'}
                return DAVResponse(200, data, headers)
            case ("DELETE", "inbox", str(name)):
                await self.dav.delete_object(actor, inbox.id, name)
                return DAVResponse(204)
            case ("POST", "outbox", None):
                return await self._freebusy(owner, body)
            case ("OPTIONS", _, _):
                return DAVResponse(200)
        return DAVResponse(405, b"not allowed on a scheduling collection")

    async def _owner(self, address: str) -> Principal:
        principal = await self.directory.find_principal(address)
        if not principal.kind.owns_data or principal.name != address:
            raise NotFound("no such principal")
        return principal

    async def _inbox(self, actor: Principal, owner: Principal) -> DAVCollection:
        account = AccountId(int(owner.id))
        found = await self.dav.list_collections(actor, account, CollectionKind.SCHEDULE_INBOX)
        if not found:
            # Only the owner's own look creates it; a delegate sees it once it exists.
            await self.scheduler.store.inbox(owner)
            found = await self.dav.list_collections(actor, account, CollectionKind.SCHEDULE_INBOX)
        if not found:
            raise NotFound("no schedule inbox")
        return found[0]

    # --- PROPFIND ----------------------------------------------------------------------
    async def _propfind(
        self,
        target: BoxTarget,
        owner: Principal,
        inbox: DAVCollection,
        body: bytes,
        depth: str,
        actor: Principal,
    ) -> DAVResponse:
        wanted = parse_propfind(parse_xml(body))
        names = wanted.names if wanted.mode == "prop" else _BOX_ALLPROP
        box_href = paths.schedule_href(owner.name, target.box)
        answers = [response(box_href, _box_props(target.box, owner, inbox, names))]
        if target.box == "inbox" and depth != "0":
            for obj in await self.dav.list_objects(actor, inbox.id):
                answers.append(self._member(owner, obj, body))
        return _multistatus(answers)

    def _member(self, owner: Principal, obj: DAVObject, body: bytes) -> ET.Element:
        wanted = parse_propfind(parse_xml(body))
        names = wanted.names if wanted.mode == "prop" else _MEMBER_ALLPROP
        result = PropResult()
        for name in names:
            if name == tag(DAV, "getetag"):
                result.found.append(element(name, f'"{obj.etag}"'))
            elif name == tag(DAV, "getcontenttype"):
                result.found.append(element(name, "text/calendar; charset=utf-8"))
            elif name == tag(DAV, "resourcetype"):
                result.found.append(element(name))
            elif name == tag(CALDAV, "calendar-data"):
                result.found.append(element(name, obj.data))
            else:
                result.missing.append(name)
        href_ = paths.schedule_href(owner.name, "inbox") + paths._q(obj.name)
        return response(href_, result)

    # --- POST: free/busy -----------------------------------------------------------------
    async def _freebusy(self, owner: Principal, body: bytes) -> DAVResponse:
        """RFC 6638 §5: one C:response per recipient, with its VFREEBUSY REPLY."""
        try:
            calendar = parse_calendar(body.decode("utf-8", errors="replace"))
        except InvalidInput:
            return precondition(400, CALDAV, "valid-calendar-data")
        request = _freebusy_request(calendar)
        if request is None:
            return precondition(403, CALDAV, "valid-scheduling-message")
        organizer, recipients, start, end, uid = request
        if organizer not in await self.scheduler.addresses(owner):
            raise PermissionDenied("the ORGANIZER must be the outbox owner's address")
        if len(recipients) > MAX_FREEBUSY_RECIPIENTS:
            raise InvalidInput(f"at most {MAX_FREEBUSY_RECIPIENTS} recipients per request")
        answers = []
        for address in recipients:
            answers.append(await self._one_freebusy(organizer, address, start, end, uid))
        root = element(tag(CALDAV, "schedule-response"), None, *answers)
        log.info("dav.freebusy owner=%s recipients=%d", owner.name, len(recipients))
        return DAVResponse(200, serialize(root), {"Content-Type": XML})

    async def _one_freebusy(
        self, organizer: str, address: str, start: datetime, end: datetime, uid: str
    ) -> ET.Element:
        recipient = element(tag(CALDAV, "recipient"), None, href(f"mailto:{address}"))
        principal = await self.scheduler.local_principal(address)
        if principal is None:
            status = element(tag(CALDAV, "request-status"), "3.7;Invalid calendar user")
            return element(tag(CALDAV, "response"), None, recipient, status)
        found = await self.scheduler.availability.freebusy_for(principal, start, end)
        data = element(tag(CALDAV, "calendar-data"), freebusy_reply(found, organizer, uid))
        status = element(tag(CALDAV, "request-status"), "2.0;Success")
        return element(tag(CALDAV, "response"), None, recipient, status, data)


def _freebusy_request(
    calendar: icalendar.Calendar,
) -> tuple[str, list[str], datetime, datetime, str] | None:
    """(organizer, recipients, start, end, uid) of a VFREEBUSY REQUEST, or None."""
    if str(calendar.get("METHOD", "")).upper() != "REQUEST":
        return None
    component: Any
    for component in calendar.walk("VFREEBUSY"):
        if component.get("DTSTART") is None or component.get("DTEND") is None:
            return None
        organizer = component.get("ORGANIZER")
        attendees = component.get("ATTENDEE")
        if organizer is None or attendees is None:
            return None
        listed = attendees if isinstance(attendees, list) else [attendees]
        start, _ = to_utc(component["DTSTART"].dt)
        end, _ = to_utc(component["DTEND"].dt)
        recipients = list(dict.fromkeys(address_of(a) for a in listed))
        return address_of(organizer), recipients, start, end, str(component.get("UID", ""))
    return None


_BOX_ALLPROP = (tag(DAV, "resourcetype"), tag(DAV, "displayname"), tag(CS, "getctag"))
_MEMBER_ALLPROP = (tag(DAV, "getetag"), tag(DAV, "getcontenttype"), tag(DAV, "resourcetype"))


def _box_props(
    box: str, owner: Principal, inbox: DAVCollection, names: tuple[str, ...]
) -> PropResult:
    result = PropResult()
    for name in names:
        if name == tag(DAV, "resourcetype"):
            kind = "schedule-inbox" if box == "inbox" else "schedule-outbox"
            result.found.append(
                element(name, None, element(tag(DAV, "collection")), element(tag(CALDAV, kind)))
            )
        elif name == tag(DAV, "displayname"):
            result.found.append(element(name, "Scheduling " + box))
        elif name == tag(DAV, "owner"):
            result.found.append(element(name, None, href(paths.principal_href(owner.name))))
        elif name == tag(CS, "getctag") and box == "inbox":
            result.found.append(element(name, str(inbox.modseq)))
        elif name == tag(DAV, "current-user-privilege-set"):
            privilege = "schedule-deliver" if box == "inbox" else "schedule-send"
            node = element(name)
            for granted in ("read", privilege):
                namespace = DAV if granted == "read" else CALDAV
                node.append(element(tag(DAV, "privilege"), None, element(tag(namespace, granted))))
            result.found.append(node)
        else:
            result.missing.append(name)
    return result


def _multistatus(answers: list[ET.Element]) -> DAVResponse:
    return DAVResponse(207, multistatus(answers), {"Content-Type": XML})


@dataclass(frozen=True, slots=True)
class Pending:
    """A calendar change that scheduling must look at once it is committed."""

    owner_address: str
    old: str | None  # the object's text before the change, None if it is new
    actor: Principal | None = None  # who made it (a delegate answers with SENT-BY)


class ImplicitScheduling:
    """RFC 6638 §3.2 for the PUT and DELETE handlers: read the previous version
    before the change, run the scheduler after the commit."""

    def __init__(self, dav: DAVService, scheduler: Scheduler) -> None:
        self.dav = dav
        self.scheduler = scheduler

    async def before(
        self, actor: Principal, owner: Principal, collection: DAVCollection, name: str,
        text: str | None,
    ) -> Pending | None:
        """None when the change cannot concern scheduling (no ORGANIZER in a PUT)."""
        if collection.kind is not CollectionKind.CALENDAR:
            return None
        if text is not None and "ORGANIZER" not in text.upper():
            return None
        try:
            old: str | None = (await self.dav.get_object(actor, collection.id, name)).data
        except NotFound:
            old = None
        # Answering an invitation as the owner is for delegates (Raises PermissionDenied).
        await self.scheduler.check_actor(actor, owner, old, text)
        return Pending(owner.name, old, actor)

    async def after(self, owner: Principal, pending: Pending | None, new: str | None) -> bool:
        """Run the scheduler; True when the stored object still is what the client sent
        (so its ETag may be returned, RFC 6638 §3.2.10 / RFC 4791 §5.3.4)."""
        if pending is None:
            return True
        outcome = await self.scheduler.object_changed(owner, pending.old, new, actor=pending.actor)
        return not outcome.owner_copy_changed


SCHEDULE_TRANSP = tag(CALDAV, "schedule-calendar-transp")


def transparency(set_props: dict[str, ET.Element], removed: Iterable[str]) -> bool | None:
    """RFC 6638 §9.1 in a PROPPATCH: True for <C:transparent/>, False for <C:opaque/>
    or a removal (opaque is the default), None when the property is not touched."""
    node = set_props.get(SCHEDULE_TRANSP)
    if node is not None:
        return node.find(tag(CALDAV, "transparent")) is not None
    return False if SCHEDULE_TRANSP in removed else None

