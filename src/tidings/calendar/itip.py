"""iTIP messages (RFC 5546): build and read REQUEST, REPLY and CANCEL, read and set
an attendee's PARTSTAT, and tell a significant organizer change from a cosmetic one.

Pure code over `icalendar` objects: no store, no I/O. Calendar user addresses are
compared as lower-case addresses without the `mailto:` scheme.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import icalendar

from tidings.calendar.ical import main_components, parse_calendar, to_utc
from tidings.model.errors import InvalidInput

PARTSTATS = frozenset({"NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED"})
# Properties an organizer's client rewrites on every save; changing them alone is no
# reason to send attendees a new REQUEST (RFC 5546 §2.1.4 "significant change").
COSMETIC = ("DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "X-MOZ-GENERATION", "X-MOZ-LASTACK")
# What decides when an instance happens: a change here resets attendees' answers.
TIMING = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE")
PRODID = "-//Tidings//Scheduling//EN"
_FACTORIES = {"VEVENT": icalendar.Event, "VTODO": icalendar.Todo, "VJOURNAL": icalendar.Journal}


class Method(enum.StrEnum):
    REQUEST = "REQUEST"
    REPLY = "REPLY"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class ITIPMessage:
    """One iTIP message as read from (or written to) iCalendar text."""

    method: Method
    uid: str
    sequence: int
    organizer: str
    attendees: tuple[str, ...]
    text: str


def address_of(value: object) -> str:
    """A calendar user address as a bare lower-case address (`mailto:` removed)."""
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower()


def _mailto(address: str) -> str:
    return f"mailto:{address}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def organizer_of(calendar: icalendar.Calendar) -> str:
    """The ORGANIZER of the first scheduling component, or ""."""
    for component in main_components(calendar):
        if component.get("ORGANIZER") is not None:
            return address_of(component["ORGANIZER"])
    return ""


def attendees_of(calendar: icalendar.Calendar) -> list[str]:
    """Every ATTENDEE of every component, once each, in order of appearance."""
    found: dict[str, None] = {}
    for component in main_components(calendar):
        for attendee in _as_list(component.get("ATTENDEE")):
            found.setdefault(address_of(attendee), None)
    return list(found)


def uid_of(calendar: icalendar.Calendar) -> str:
    for component in main_components(calendar):
        return str(component.get("UID", ""))
    return ""


def sequence_of(calendar: icalendar.Calendar) -> int:
    values = [int(c.get("SEQUENCE", 0)) for c in main_components(calendar)]
    return max(values, default=0)


def partstat_of(calendar: icalendar.Calendar, address: str) -> str | None:
    """The attendee's PARTSTAT on the master (or first) component; None if not invited."""
    components = main_components(calendar)
    masters = [c for c in components if c.get("RECURRENCE-ID") is None] or components
    for component in masters[:1]:
        for attendee in _as_list(component.get("ATTENDEE")):
            if address_of(attendee) == address:
                return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def set_partstat(calendar: icalendar.Calendar, address: str, partstat: str) -> bool:
    """Set the attendee's PARTSTAT in every component; False if they are not listed."""
    if partstat not in PARTSTATS:
        raise InvalidInput(f"{partstat!r} is not a participation status", field="PARTSTAT")
    found = False
    for component in main_components(calendar):
        for attendee in _as_list(component.get("ATTENDEE")):
            if address_of(attendee) == address:
                attendee.params["PARTSTAT"] = partstat
                attendee.params.pop("RSVP", None)
                found = True
    return found


def parse_itip(text: str) -> ITIPMessage:
    """Read an iTIP message. Raises InvalidInput (no METHOD we handle, no UID)."""
    calendar = parse_calendar(text)
    raw_method = str(calendar.get("METHOD", "")).upper()
    try:
        method = Method(raw_method)
    except ValueError:
        raise InvalidInput(f"iTIP method {raw_method or 'missing'} is not handled") from None
    uid = uid_of(calendar)
    if not uid:
        raise InvalidInput("the iTIP message has no UID")
    return ITIPMessage(
        method, uid, sequence_of(calendar), organizer_of(calendar),
        tuple(attendees_of(calendar)), text,
    )


def _envelope(method: Method) -> icalendar.Calendar:
    result = icalendar.Calendar()
    result.add("PRODID", PRODID)
    result.add("VERSION", "2.0")
    result.add("METHOD", method.value)
    return result


def _timezones(calendar: icalendar.Calendar) -> list[Any]:
    return [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]


def _text(calendar: icalendar.Calendar) -> str:
    return str(calendar.to_ical().decode())


def _without_alarms(component: Any) -> Any:
    # RFC 5546 §2.1.5 lets alarms travel, but the organizer's reminders are theirs.
    clone = copy.deepcopy(component)
    clone.subcomponents = [c for c in clone.subcomponents if c.name != "VALARM"]
    return clone


def build_request(calendar: icalendar.Calendar) -> str:
    """METHOD:REQUEST with every component, as the organizer stored them (§3.2.2)."""
    result = _envelope(Method.REQUEST)
    for component in _timezones(calendar) + main_components(calendar):
        result.add_component(_without_alarms(component))
    return _text(result)


def build_cancel(calendar: icalendar.Calendar, attendees: Iterable[str] | None = None) -> str:
    """METHOD:CANCEL of the whole event (§3.2.5): STATUS:CANCELLED, SEQUENCE moved on;
    `attendees` limits the ATTENDEE list to those being removed."""
    wanted = None if attendees is None else set(attendees)
    result = _envelope(Method.CANCEL)
    for component in main_components(calendar):
        if component.get("RECURRENCE-ID") is not None:
            continue  # cancelling the master cancels every instance
        clone = _without_alarms(component)
        _replace(clone, "STATUS", "CANCELLED")
        _replace(clone, "SEQUENCE", int(clone.get("SEQUENCE", 0)) + 1)
        _replace(clone, "DTSTAMP", datetime.now(UTC))
        if wanted is not None:
            kept = [a for a in _as_list(clone.get("ATTENDEE")) if address_of(a) in wanted]
            clone.pop("ATTENDEE", None)
            for attendee in kept:
                clone.add("ATTENDEE", attendee)
        result.add_component(clone)
    return _text(result)


def build_reply(calendar: icalendar.Calendar, attendee: str, partstat: str | None = None) -> str:
    """METHOD:REPLY from `attendee` (§3.2.3): each component keeps its identity and
    timing and only the replying ATTENDEE, with `partstat` or the one it carries."""
    result = _envelope(Method.REPLY)
    for component in main_components(calendar):
        mine = [a for a in _as_list(component.get("ATTENDEE")) if address_of(a) == attendee]
        if not mine:
            continue
        reply = _FACTORIES[component.name]()
        for name in ("UID", "RECURRENCE-ID", "ORGANIZER", "DTSTART", "DTEND", "DURATION",
                     "SUMMARY"):
            if component.get(name) is not None:
                reply.add(name, component[name])
        reply.add("SEQUENCE", int(component.get("SEQUENCE", 0)))
        reply.add("DTSTAMP", datetime.now(UTC))
        answer = copy.deepcopy(mine[0])
        if partstat is not None:
            answer.params["PARTSTAT"] = partstat
        answer.params.pop("RSVP", None)
        reply.add("ATTENDEE", answer)
        result.add_component(reply)
    return _text(result)


def _replace(component: Any, name: str, value: object) -> None:
    component.pop(name, None)
    component.add(name, value)


def _signature(calendar: icalendar.Calendar, names: tuple[str, ...] | None) -> list[str]:
    """Each component's content lines, sorted, minus cosmetic ones and PARTSTATs; with
    `names`, only those properties."""
    lines: list[str] = []
    for component in main_components(calendar):
        clone = _without_alarms(component)
        for name in COSMETIC:
            clone.pop(name, None)
        for attendee in _as_list(clone.get("ATTENDEE")):
            for param in ("PARTSTAT", "RSVP", "SCHEDULE-STATUS"):
                attendee.params.pop(param, None)
        props = [
            f"{name}:{value.to_ical() if hasattr(value, 'to_ical') else value}"
            for name, value in clone.property_items(recursive=False)
            if names is None or name in names
        ]
        lines.append("\n".join(sorted(props)))
    return sorted(lines)


def is_significant_change(old: icalendar.Calendar, new: icalendar.Calendar) -> bool:
    """Whether attendees must hear about the organizer's new version (§2.1.4)."""
    return _signature(old, None) != _signature(new, None)


def is_timing_change(old: icalendar.Calendar, new: icalendar.Calendar) -> bool:
    """Whether an instance moved: answers given before no longer hold."""
    return _signature(old, TIMING) != _signature(new, TIMING)


def apply_reply(organizer_copy: icalendar.Calendar, reply: icalendar.Calendar) -> bool:
    """Copy the replying attendee's PARTSTAT into the organizer's copy, per component
    matched on RECURRENCE-ID; an answer for one instance of a series that has no
    override yet gets one (RFC 5546 §3.2.3). Returns whether anything changed."""
    changed = False
    for answer in main_components(reply):
        key = instance_key(answer)
        components = main_components(organizer_copy)
        targets = [c for c in components if instance_key(c) == key]
        if not targets and key is not None:
            master = next((c for c in components if instance_key(c) is None), None)
            if master is None or not _differs(master, answer):
                continue
            targets = [_override(master, answer["RECURRENCE-ID"].dt)]
            organizer_copy.add_component(targets[0])
        for replied in _as_list(answer.get("ATTENDEE")):
            for target in targets:
                changed = _record_answer(target, replied) or changed
    return changed


def instance_key(component: Any) -> str | None:
    """A component's RECURRENCE-ID as a UTC timestamp (None for a master)."""
    value = component.get("RECURRENCE-ID")
    if value is None:
        return None
    moment, _ = to_utc(value.dt)
    return moment.isoformat()


def partstats(calendar: icalendar.Calendar, address: str) -> dict[str | None, str]:
    """The attendee's PARTSTAT per instance key (None: the master)."""
    found: dict[str | None, str] = {}
    for component in main_components(calendar):
        for attendee in _as_list(component.get("ATTENDEE")):
            if address_of(attendee) == address:
                found[instance_key(component)] = str(
                    attendee.params.get("PARTSTAT", "NEEDS-ACTION")
                ).upper()
    return found


def _differs(master: Any, answer: Any) -> bool:
    """Whether an instance answer says something the master does not."""
    for replied in _as_list(answer.get("ATTENDEE")):
        who, said = address_of(replied), replied.params.get("PARTSTAT")
        for attendee in _as_list(master.get("ATTENDEE")):
            if address_of(attendee) == who and attendee.params.get("PARTSTAT") == said:
                return False
    return True


def _override(master: Any, recurrence: Any) -> Any:
    """An overridden instance of the series at `recurrence` (RFC 5545 §3.8.4.4)."""
    clone = copy.deepcopy(master)
    for name in ("RRULE", "RDATE", "EXDATE", "EXRULE"):
        clone.pop(name, None)
    if master.get("DTEND") is not None and master.get("DTSTART") is not None:
        _replace(clone, "DTEND", recurrence + (master["DTEND"].dt - master["DTSTART"].dt))
    _replace(clone, "DTSTART", recurrence)
    clone.add("RECURRENCE-ID", recurrence)
    return clone


def _record_answer(target: Any, replied: Any) -> bool:
    """Set one replying attendee's PARTSTAT in one component; a member of an invited
    group (MEMBER) who is not listed yet is added."""
    who = address_of(replied)
    partstat = str(replied.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    attendees = _as_list(target.get("ATTENDEE"))
    for attendee in attendees:
        if address_of(attendee) != who:
            continue
        attendee.params.pop("RSVP", None)
        if attendee.params.get("PARTSTAT") == partstat:
            return False
        attendee.params["PARTSTAT"] = partstat
        return True
    group = replied.params.get("MEMBER")
    if group is None or address_of(group) not in {address_of(a) for a in attendees}:
        return False  # RFC 5546 §3.2.3: an uninvited party's answer is ignored
    target.add("ATTENDEE", copy.deepcopy(replied))
    return True


def cancelled_instances(cancel: icalendar.Calendar) -> list[Any] | None:
    """The RECURRENCE-IDs a CANCEL names, or None when it cancels the whole event
    (a component without RECURRENCE-ID, RFC 5546 §3.2.5)."""
    found = []
    for component in main_components(cancel):
        if component.get("RECURRENCE-ID") is None:
            return None
        found.append(component["RECURRENCE-ID"].dt)
    return found


def exclude_instances(calendar: icalendar.Calendar, recurrences: list[Any]) -> bool:
    """Remove instances from a copy: EXDATE on the master, overrides dropped.
    Returns whether anything changed."""
    keys = {to_utc(r)[0].isoformat() for r in recurrences}
    before = len(calendar.subcomponents)
    calendar.subcomponents = [c for c in calendar.subcomponents if instance_key(c) not in keys]
    changed = len(calendar.subcomponents) != before
    for component in main_components(calendar):
        if instance_key(component) is None and component.get("RRULE") is not None:
            for recurrence in recurrences:
                component.add("EXDATE", recurrence)
            changed = True
    return changed


def with_member(text: str, member: str, group: str) -> str:
    """The iTIP text with `member` listed as an ATTENDEE of each component that invites
    `group` (RFC 5545 §3.2.11 MEMBER), as a group member's own copy shows it."""
    calendar = parse_calendar(text)
    for component in main_components(calendar):
        listed = [address_of(a) for a in _as_list(component.get("ATTENDEE"))]
        if group in listed and member not in listed:
            component.add(
                "ATTENDEE",
                _mailto(member),
                parameters={"MEMBER": _mailto(group), "PARTSTAT": "NEEDS-ACTION"},
            )
    return _text(calendar)


def stored_form(calendar: icalendar.Calendar) -> str:
    """The text to keep in a calendar collection: no METHOD (RFC 4791 §4.1)."""
    clone = copy.deepcopy(calendar)
    clone.pop("METHOD", None)
    return _text(clone)


def is_cancelled(calendar: icalendar.Calendar) -> bool:
    """Whether the master component says STATUS:CANCELLED."""
    for component in main_components(calendar):
        if component.get("RECURRENCE-ID") is None:
            return str(component.get("STATUS", "")).upper() == "CANCELLED"
    return False

