"""Request bodies parsed into typed values: PROPFIND, PROPPATCH, MKCALENDAR/MKCOL
(RFC 4918 §9, RFC 4791 §5.3.1, RFC 5689) and REPORTs (RFC 4791 §7, 6352 §8, 6578 §3)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote

from tidings.calendar.filters import CompFilter, ParamFilter, PropFilter, TextMatch
from tidings.calendar.timerange import TimeRange
from tidings.dav.xml import CALDAV, CARDDAV, DAV, MalformedXML, tag


@dataclass(frozen=True, slots=True)
class Propfind:
    mode: str  # "allprop", "propname" or "prop"
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PropertyUpdate:
    set: dict[str, ET.Element] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    resourcetypes: frozenset[str] = frozenset()  # MKCOL only


@dataclass(frozen=True, slots=True)
class DataRequest:
    """calendar-data / address-data in a REPORT's prop (RFC 4791 §9.6)."""

    expand: TimeRange | None = None
    limit_recurrence: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class Report:
    name: str  # Clark tag of the root element
    props: tuple[str, ...] = ()
    data: DataRequest | None = None
    calendar_filter: CompFilter | None = None
    card_filters: tuple[PropFilter, ...] = ()
    card_test: str = "anyof"
    hrefs: tuple[str, ...] = ()
    sync_token: str | None = None
    limit: int | None = None
    time_range: TimeRange | None = None  # free-busy-query


def parse_propfind(root: ET.Element | None) -> Propfind:
    """RFC 4918 §9.1: an empty body means allprop."""
    if root is None:
        return Propfind("allprop")
    _expect(root, tag(DAV, "propfind"))
    for child in root:
        if child.tag == tag(DAV, "prop"):
            return Propfind("prop", tuple(p.tag for p in child))
        if child.tag == tag(DAV, "propname"):
            return Propfind("propname")
        if child.tag == tag(DAV, "allprop"):
            return Propfind("allprop")
    raise MalformedXML("propfind needs prop, propname or allprop")


def parse_property_update(root: ET.Element | None, expected: tuple[str, ...]) -> PropertyUpdate:
    """PROPPATCH's propertyupdate, MKCALENDAR's mkcalendar or extended MKCOL's mkcol."""
    if root is None:
        return PropertyUpdate()
    if root.tag not in expected:
        raise MalformedXML(f"expected {' or '.join(expected)}")
    values: dict[str, ET.Element] = {}
    removed: list[str] = []
    types: set[str] = set()
    for action in root:
        prop = action.find(tag(DAV, "prop"))
        if prop is None:
            continue
        for item in prop:
            if action.tag == tag(DAV, "remove"):
                removed.append(item.tag)
            elif item.tag == tag(DAV, "resourcetype"):
                types |= {t.tag for t in item}
            else:
                values[item.tag] = item
    return PropertyUpdate(values, tuple(removed), frozenset(types))


def parse_report(root: ET.Element | None) -> Report:
    if root is None:
        raise MalformedXML("REPORT needs a body")
    props: list[str] = []
    data: DataRequest | None = None
    prop = root.find(tag(DAV, "prop"))
    for item in prop if prop is not None else ():
        props.append(item.tag)
        if item.tag in (tag(CALDAV, "calendar-data"), tag(CARDDAV, "address-data")):
            data = _data_request(item)
    hrefs = tuple(unquote(h.text.strip()) for h in root.iter(tag(DAV, "href")) if h.text)
    token = root.find(tag(DAV, "sync-token"))
    limit = root.find(f"{tag(DAV, 'limit')}/{tag(DAV, 'nresults')}")
    calendar_filter = root.find(tag(CALDAV, "filter"))
    card_filter = root.find(tag(CARDDAV, "filter"))
    free_busy = root.find(tag(CALDAV, "time-range"))
    return Report(
        name=root.tag,
        props=tuple(props),
        data=data,
        calendar_filter=_comp_filter(calendar_filter[0])
        if calendar_filter is not None and len(calendar_filter)
        else None,
        card_filters=tuple(_prop_filter(p) for p in card_filter) if card_filter is not None else (),
        card_test=card_filter.get("test", "anyof") if card_filter is not None else "anyof",
        hrefs=hrefs,
        sync_token=(token.text or "").strip() if token is not None else None,
        limit=_int(limit.text) if limit is not None else None,
        time_range=_time_range(free_busy) if free_busy is not None else None,
    )


def _data_request(item: ET.Element) -> DataRequest:
    expand = item.find(tag(CALDAV, "expand"))
    limit = item.find(tag(CALDAV, "limit-recurrence-set"))
    return DataRequest(
        expand=_time_range(expand) if expand is not None else None,
        limit_recurrence=_time_range(limit) if limit is not None else None,
    )


def _comp_filter(node: ET.Element) -> CompFilter:
    _expect(node, tag(CALDAV, "comp-filter"))
    time_range = node.find(tag(CALDAV, "time-range"))
    return CompFilter(
        name=_name(node),
        is_not_defined=node.find(tag(CALDAV, "is-not-defined")) is not None,
        time_range=_time_range(time_range) if time_range is not None else None,
        prop_filters=tuple(_prop_filter(p) for p in node.findall(tag(CALDAV, "prop-filter"))),
        comp_filters=tuple(_comp_filter(c) for c in node.findall(tag(CALDAV, "comp-filter"))),
    )


def _prop_filter(node: ET.Element) -> PropFilter:
    namespace = node.tag[1 : node.tag.index("}")] if node.tag.startswith("{") else CALDAV
    time_range = node.find(tag(namespace, "time-range"))
    return PropFilter(
        name=_name(node),
        is_not_defined=node.find(tag(namespace, "is-not-defined")) is not None,
        time_range=_time_range(time_range) if time_range is not None else None,
        text_match=_text_match(node.find(tag(namespace, "text-match"))),
        param_filters=tuple(
            ParamFilter(
                _name(p),
                p.find(tag(namespace, "is-not-defined")) is not None,
                _text_match(p.find(tag(namespace, "text-match"))),
            )
            for p in node.findall(tag(namespace, "param-filter"))
        ),
        test=node.get("test", "anyof"),
    )


def _text_match(node: ET.Element | None) -> TextMatch | None:
    if node is None:
        return None
    return TextMatch(
        text=node.text or "",
        collation=node.get("collation", "i;ascii-casemap"),
        negate=node.get("negate-condition", "no") == "yes",
        match_type=node.get("match-type", "contains"),
    )


def _time_range(node: ET.Element) -> TimeRange:
    start, end = node.get("start"), node.get("end")
    if start is None and end is None:
        raise MalformedXML("time-range needs start or end")
    return TimeRange(_utc(start) if start else None, _utc(end) if end else None)


def _utc(value: str) -> datetime:
    """RFC 4791 §9.9: date with UTC time, e.g. 20060104T000000Z."""
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise MalformedXML(f"bad UTC time {value[:32]!r}") from None


def _name(node: ET.Element) -> str:
    name = node.get("name")
    if not name:
        raise MalformedXML(f"{node.tag} needs a name attribute")
    return name.upper()


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        raise MalformedXML("nresults must be a number") from None


def _expect(node: ET.Element, expected: str) -> None:
    if node.tag != expected:
        raise MalformedXML(f"expected {expected}, got {node.tag}")
