"""The XML layer: safe parsing and multistatus/error building (RFC 4918 §13, §16).

Parsing goes through defusedxml with DTDs forbidden, so entity expansion bombs
and external entities are refused before any expansion happens.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CS = "http://calendarserver.org/ns/"
ICAL = "http://apple.com/ns/ical/"
MAX_BODY_BYTES = 2_000_000

PREFIXES = {DAV: "D", CALDAV: "C", CARDDAV: "CR", CS: "CS", ICAL: "I"}
for _uri, _prefix in PREFIXES.items():
    ET.register_namespace(_prefix, _uri)


def tag(namespace: str, name: str) -> str:
    """Clark notation: {namespace}name."""
    return f"{{{namespace}}}{name}"


class MalformedXML(ValueError):
    """The request body is not acceptable XML (answered with 400)."""


def parse_xml(body: bytes) -> ET.Element | None:
    """The root element, or None for an empty body. Raises MalformedXML."""
    if not body.strip():
        return None
    if len(body) > MAX_BODY_BYTES:
        raise MalformedXML("the XML body is too large")
    try:
        root: ET.Element = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedXML(f"the XML body cannot be parsed: {type(exc).__name__}") from None
    return root


def element(name: str, text: str | None = None, *children: ET.Element) -> ET.Element:
    node = ET.Element(name)
    if text is not None:
        node.text = text
    node.extend(children)
    return node


def href(value: str) -> ET.Element:
    return element(tag(DAV, "href"), value)


@dataclass(slots=True)
class PropResult:
    """One resource's answer in a multistatus: found properties and missing names."""

    found: list[ET.Element] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)


def propstat(props: Sequence[ET.Element], status: str) -> ET.Element:
    prop = element(tag(DAV, "prop"), None, *props)
    return element(
        tag(DAV, "propstat"), None, prop, element(tag(DAV, "status"), f"HTTP/1.1 {status}")
    )


def response(target: str, result: PropResult) -> ET.Element:
    node = element(tag(DAV, "response"), None, href(target))
    if result.found or not (result.missing or result.forbidden):
        node.append(propstat(result.found, "200 OK"))
    if result.missing:
        node.append(propstat([ET.Element(n) for n in result.missing], "404 Not Found"))
    if result.forbidden:
        node.append(propstat([ET.Element(n) for n in result.forbidden], "403 Forbidden"))
    return node


def status_response(target: str, status: str) -> ET.Element:
    return element(
        tag(DAV, "response"),
        None,
        href(target),
        element(tag(DAV, "status"), f"HTTP/1.1 {status}"),
    )


def multistatus(responses: Iterable[ET.Element], sync_token: str | None = None) -> bytes:
    root = element(tag(DAV, "multistatus"), None, *responses)
    if sync_token is not None:
        root.append(element(tag(DAV, "sync-token"), sync_token))
    return serialize(root)


def error_body(namespace: str, precondition: str, *children: ET.Element) -> bytes:
    """RFC 4918 §16: <D:error><precondition/></D:error>."""
    return serialize(
        element(tag(DAV, "error"), None, element(tag(namespace, precondition), None, *children))
    )


def serialize(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
