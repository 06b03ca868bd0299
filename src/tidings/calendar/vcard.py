"""Minimal vCard 3.0/4.0 reading (RFC 2426, RFC 6350): validation, UID and properties
for CardDAV (RFC 6352 §5.1: one vCard per resource, with a UID)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.calendar.filters import PropFilter
from tidings.model.dav import NewDAVObject
from tidings.model.errors import InvalidInput

VALID_DATA = "valid-address-data"
MAX_BYTES = 1_000_000
_FOLD = re.compile(r"\r?\n[ \t]")
_NAME = re.compile(r"^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)\Z")


@dataclass(frozen=True, slots=True)
class VCardProperty:
    name: str  # upper case, group prefix removed
    params: tuple[tuple[str, str], ...]
    value: str


@dataclass(frozen=True, slots=True)
class VCard:
    version: str
    uid: str
    fn: str
    properties: tuple[VCardProperty, ...]

    def values(self, name: str) -> list[VCardProperty]:
        return [p for p in self.properties if p.name == name.upper()]


def _split_line(line: str) -> VCardProperty:
    head, sep, value = line.partition(":")
    if not sep:
        raise InvalidInput(f"a vCard line has no colon: {line[:40]!r}", field=VALID_DATA)
    name, *raw_params = head.split(";")
    match = _NAME.match(name)
    if match is None:
        raise InvalidInput(f"bad vCard property name {name[:40]!r}", field=VALID_DATA)
    params = []
    for raw in raw_params:
        key, _, param_value = raw.partition("=")
        params.append((key.upper(), param_value.strip('"')))
    return VCardProperty(match.group(1).upper(), tuple(params), value)


def parse_vcard(data: str) -> VCard:
    """One vCard 3.0 or 4.0 with UID and FN. Raises InvalidInput(valid-address-data)."""
    if len(data) > MAX_BYTES:
        raise InvalidInput("the vCard is too large", field=VALID_DATA)
    lines = [line for line in _FOLD.sub("", data).splitlines() if line.strip()]
    if len(lines) < 2 or lines[0].upper() != "BEGIN:VCARD" or lines[-1].upper() != "END:VCARD":
        raise InvalidInput("the body must be one BEGIN:VCARD ... END:VCARD", VALID_DATA)
    properties = tuple(_split_line(line) for line in lines[1:-1])
    if any(p.name == "BEGIN" for p in properties):
        raise InvalidInput("one vCard per resource (RFC 6352 §5.1)", field=VALID_DATA)
    found = {p.name: p.value for p in reversed(properties)}
    version = found.get("VERSION", "")
    if version not in ("3.0", "4.0"):
        raise InvalidInput("only vCard 3.0 and 4.0 are supported", field=VALID_DATA)
    if not found.get("UID"):
        raise InvalidInput("the vCard has no UID", field=VALID_DATA)
    if "FN" not in found:
        raise InvalidInput("the vCard has no FN", field=VALID_DATA)
    return VCard(version, found["UID"], found["FN"], properties)


def new_contact_object(name: str, data: str) -> NewDAVObject:
    """The store's input for a PUT of a vCard. Raises InvalidInput."""
    card = parse_vcard(data)
    return NewDAVObject(name=name, data=data, uid=card.uid, component="VCARD")


def card_matches(card: VCard, filters: tuple[PropFilter, ...], test: str = "anyof") -> bool:
    """RFC 6352 §10.5: the filter's prop-filters combined by `test` (anyof/allof)."""
    if not filters:
        return True
    results = (_prop_matches(card, f) for f in filters)
    return all(results) if test == "allof" else any(results)


def _prop_matches(card: VCard, query: PropFilter) -> bool:
    values = card.values(query.name)
    if query.is_not_defined:
        return not values
    if not values:
        return False
    if query.text_match is None:
        return True
    text_match = query.text_match
    return any(text_match.matches(p.value) for p in values)
