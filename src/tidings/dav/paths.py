"""The URL space under the DAV mount, parsed into typed targets and built back.

/dav/                                   root (current-user-principal)
/dav/principals/<address>/              a principal
/dav/calendars/<address>/               calendar home set
/dav/calendars/<address>/<name>/        a calendar
/dav/calendars/<address>/<name>/<obj>   an object (addressbooks alike)
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from tidings.model.dav import CollectionKind

PREFIX = "/dav"
HOMES = {"calendars": CollectionKind.CALENDAR, "addressbooks": CollectionKind.ADDRESSBOOK}
SEGMENTS = {kind: segment for segment, kind in HOMES.items()}
SCHEDULING = "scheduling"  # RFC 6638 inbox and outbox: see dav/scheduling.py


@dataclass(frozen=True, slots=True)
class Root:
    pass


@dataclass(frozen=True, slots=True)
class PrincipalPath:
    address: str


@dataclass(frozen=True, slots=True)
class HomePath:
    kind: CollectionKind
    address: str


@dataclass(frozen=True, slots=True)
class CollectionPath:
    kind: CollectionKind
    address: str
    name: str


@dataclass(frozen=True, slots=True)
class ObjectPath:
    kind: CollectionKind
    address: str
    collection: str
    name: str


Target = Root | PrincipalPath | HomePath | CollectionPath | ObjectPath


def parse_path(path: str) -> Target | None:
    """A decoded request path (or href) to a target; None if it names nothing."""
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
    if not path.startswith(PREFIX):
        return None
    parts = [p for p in path[len(PREFIX) :].split("/") if p]
    if not parts:
        return Root()
    if any(p in (".", "..") for p in parts):
        return None
    head, rest = parts[0], [p.lower() if i == 0 else p for i, p in enumerate(parts[1:])]
    if head == "principals" and len(rest) == 1:
        return PrincipalPath(rest[0])
    kind = HOMES.get(head)
    if kind is None or not rest or len(rest) > 3:
        return None
    if len(rest) == 1:
        return HomePath(kind, rest[0])
    if len(rest) == 2:
        return CollectionPath(kind, rest[0], rest[1])
    return ObjectPath(kind, rest[0], rest[1], rest[2])


def _q(segment: str) -> str:
    return quote(segment, safe="@+:=~")


def principal_href(address: str) -> str:
    return f"{PREFIX}/principals/{_q(address)}/"


def home_href(kind: CollectionKind, address: str) -> str:
    return f"{PREFIX}/{SEGMENTS[kind]}/{_q(address)}/"


def collection_href(kind: CollectionKind, address: str, name: str) -> str:
    return f"{home_href(kind, address)}{_q(name)}/"


def object_href(kind: CollectionKind, address: str, collection: str, name: str) -> str:
    return f"{collection_href(kind, address, collection)}{_q(name)}"


def schedule_href(address: str, box: str) -> str:
    """RFC 6638 schedule-inbox-URL / schedule-outbox-URL (`box` is inbox or outbox)."""
    return f"{PREFIX}/{SCHEDULING}/{_q(address)}/{box}/"
