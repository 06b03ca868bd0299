"""REPORTs: calendar-query, calendar-multiget, free-busy-query (RFC 4791 §7),
addressbook-query, addressbook-multiget (RFC 6352 §8) and sync-collection (RFC 6578)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import icalendar

from tidings.calendar.fastpath import plain_range, simple_event
from tidings.calendar.filters import CompFilter, calendar_matches
from tidings.calendar.freebusy import free_busy
from tidings.calendar.ical import parse_calendar
from tidings.calendar.timerange import TimeRange, expand, limit_recurrence_set
from tidings.calendar.vcard import card_matches, parse_vcard
from tidings.dav import paths
from tidings.dav.errors import XML, DAVResponse, precondition
from tidings.dav.handlers import DAVHandlers, DAVRequest
from tidings.dav.props import SYNC_TOKEN_PREFIX, ObjectResource, render
from tidings.dav.requests import Report, parse_report
from tidings.dav.xml import (
    CALDAV,
    CARDDAV,
    DAV,
    MalformedXML,
    PropResult,
    element,
    multistatus,
    parse_xml,
    response,
    status_response,
    tag,
)
from tidings.model.dav import CollectionKind, DAVCollection, DAVObject, InvalidSyncToken
from tidings.model.directory import Principal
from tidings.model.ids import ModSeq

CALENDAR_DATA = tag(CALDAV, "calendar-data")
PARSED_ENTRIES = 256
_PARSED: OrderedDict[str, icalendar.Calendar] = OrderedDict()
ADDRESS_DATA = tag(CARDDAV, "address-data")


async def report(handlers: DAVHandlers, request: DAVRequest, actor: Principal) -> DAVResponse:
    """Dispatch on the REPORT's root element."""
    target = paths.parse_path(request.path)
    wanted = parse_report(parse_xml(request.body))
    if not isinstance(target, paths.CollectionPath):
        return DAVResponse(403, b"REPORTs are supported on collections")
    owner, collection = await handlers.collection(actor, target.kind, target.address, target.name)
    href = paths.collection_href(target.kind, owner.name, collection.name)
    calendar = collection.kind is CollectionKind.CALENDAR
    match wanted.name:
        case name if name == tag(CALDAV, "calendar-query") and calendar:
            objects = await _calendar_query(handlers, actor, collection, wanted)
        case name if name == tag(CARDDAV, "addressbook-query") and not calendar:
            objects = await _card_query(handlers, actor, collection, wanted)
        case name if name in (
            tag(CALDAV, "calendar-multiget"),
            tag(CARDDAV, "addressbook-multiget"),
        ):
            return await _multiget(handlers, actor, collection, href, wanted)
        case name if name == tag(DAV, "sync-collection"):
            return await _sync(handlers, actor, collection, href, wanted)
        case name if name == tag(CALDAV, "free-busy-query") and calendar:
            return await _free_busy(handlers, actor, collection, wanted)
        case _:
            return precondition(403, DAV, "supported-report")
    answers = [
        response(href + paths._q(o.name), _props(o, collection, actor, wanted))
        for o in objects[: wanted.limit]
    ]
    if wanted.limit is not None and len(objects) > wanted.limit:
        # RFC 5323 §5.17 / RFC 6352 §8.6.1: a truncated answer says so with 507.
        answers.append(status_response(href, "507 Insufficient Storage"))
    return DAVResponse(207, multistatus(answers), {"Content-Type": XML})


def _props(
    obj: DAVObject, collection: DAVCollection, actor: Principal, wanted: Report
) -> PropResult:
    names = [n for n in wanted.props if n not in (CALENDAR_DATA, ADDRESS_DATA)]
    result = render(ObjectResource(obj, collection.kind), actor, names)
    if CALENDAR_DATA in wanted.props:
        result.found.append(element(CALENDAR_DATA, _calendar_data(obj, wanted)))
    if ADDRESS_DATA in wanted.props:
        result.found.append(element(ADDRESS_DATA, obj.data))
    return result


def _calendar_data(obj: DAVObject, wanted: Report) -> str:
    data = wanted.data
    if data is None or (data.expand is None and data.limit_recurrence is None):
        return obj.data
    if data.expand is not None:
        fast = _expanded_fast(obj, data.expand)
        if fast is not None:
            return fast
    calendar = _parsed(obj)
    if data.expand is not None:
        calendar = expand(calendar, data.expand)
    elif data.limit_recurrence is not None:
        calendar = limit_recurrence_set(calendar, data.limit_recurrence)
    return str(calendar.to_ical().decode())


def _range_of(wanted: Report) -> tuple[str | None, TimeRange | None]:
    """The component and time range of a VCALENDAR > Vxxx filter, for the index."""
    query = wanted.calendar_filter
    if query is None or len(query.comp_filters) != 1:
        return None, None
    child = query.comp_filters[0]
    return child.name, child.time_range


async def _calendar_query(
    handlers: DAVHandlers, actor: Principal, collection: DAVCollection, wanted: Report
) -> Sequence[DAVObject]:
    component, time_range = _range_of(wanted)
    candidates = await handlers.dav.list_objects(
        actor,
        collection.id,
        component=component,
        start=time_range.start if time_range else None,
        end=time_range.end if time_range else None,
    )
    if wanted.calendar_filter is None:
        return candidates
    query = wanted.calendar_filter
    plain = plain_range(query)
    return [o for o in candidates if _matches(o, query, plain)]


def _matches(obj: DAVObject, query: CompFilter, plain: TimeRange | None) -> bool:
    """The filter on one object, without parsing it when fastpath.py can decide."""
    event = simple_event(obj.data) if plain is not None else None
    spans = event.spans(plain) if event is not None and plain is not None else None
    if spans is not None:
        return bool(spans)
    return calendar_matches(_parsed(obj), query)


def _expanded_fast(obj: DAVObject, window: TimeRange) -> str | None:
    """`expand` for a simple event (fastpath.py); None for the general path."""
    event = simple_event(obj.data)
    if event is None:
        return None
    if event.rule is None and window.overlaps(event.start, event.end):
        return obj.data  # one UTC instance: expanding changes nothing
    return event.expanded(window)


def _parsed(obj: DAVObject) -> icalendar.Calendar:
    """Parsed once for the filter and the data of a REPORT: the ETag is the content's
    hash, and neither the filters nor expand change the parsed calendar."""
    found = _PARSED.get(obj.etag)
    if found is None:
        found = _PARSED[obj.etag] = parse_calendar(obj.data)
        if len(_PARSED) > PARSED_ENTRIES:
            _PARSED.popitem(last=False)
    return found


async def _card_query(
    handlers: DAVHandlers, actor: Principal, collection: DAVCollection, wanted: Report
) -> Sequence[DAVObject]:
    candidates = await handlers.dav.list_objects(actor, collection.id)
    found = [
        o
        for o in candidates
        if card_matches(parse_vcard(o.data), wanted.card_filters, wanted.card_test)
    ]
    return found


async def _multiget(
    handlers: DAVHandlers, actor: Principal, collection: DAVCollection, href: str, wanted: Report
) -> DAVResponse:
    names: dict[str, str] = {}
    for requested in wanted.hrefs:
        target = paths.parse_path(requested)
        if isinstance(target, paths.ObjectPath) and requested.startswith(href):
            names[target.name] = requested
        else:
            names[requested] = requested
    objects = await handlers.dav.list_objects(actor, collection.id, names=list(names))
    by_name = {o.name: o for o in objects}
    answers = []
    for name, requested in names.items():
        obj = by_name.get(name)
        if obj is None:
            answers.append(status_response(requested, "404 Not Found"))
        else:
            answers.append(response(requested, _props(obj, collection, actor, wanted)))
    return DAVResponse(207, multistatus(answers), {"Content-Type": XML})


def _token(value: str | None) -> ModSeq | None:
    if not value:
        return None
    if not value.startswith(SYNC_TOKEN_PREFIX) or not value[len(SYNC_TOKEN_PREFIX) :].isdigit():
        raise InvalidSyncToken("this is not a sync token of this server")
    return ModSeq(int(value[len(SYNC_TOKEN_PREFIX) :]))


async def _sync(
    handlers: DAVHandlers, actor: Principal, collection: DAVCollection, href: str, wanted: Report
) -> DAVResponse:
    """RFC 6578 §3: changed members with their properties, removed ones with 404."""
    changes = await handlers.dav.changes_since(actor, collection.id, _token(wanted.sync_token))
    answers = [
        response(href + paths._q(o.name), _props(o, collection, actor, wanted))
        for o in changes.changed
    ]
    answers += [status_response(href + paths._q(name), "404 Not Found") for name in changes.removed]
    token = f"{SYNC_TOKEN_PREFIX}{changes.token}"
    return DAVResponse(207, multistatus(answers, sync_token=token), {"Content-Type": XML})


async def _free_busy(
    handlers: DAVHandlers, actor: Principal, collection: DAVCollection, wanted: Report
) -> DAVResponse:
    """RFC 4791 §7.10: one VFREEBUSY for the collection over the asked range."""
    time_range = wanted.time_range
    if time_range is None or time_range.start is None or time_range.end is None:
        raise MalformedXML("free-busy-query needs a time-range with start and end")
    # Only the FREE_BUSY level is needed here: nothing but busy periods leaves.
    objects = await handlers.dav.free_busy_objects(
        actor, collection.id, time_range.start, time_range.end
    )
    body = free_busy([parse_calendar(o.data) for o in objects], time_range)
    return DAVResponse(200, body.encode(), {"Content-Type": "text/calendar; charset=utf-8"})
