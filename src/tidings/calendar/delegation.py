"""Delegates answering invitations for a calendar owner (RFC 6638 §3.2.2 with
RFC 5545 §3.2.18 SENT-BY): who may, and how the REPLY says who really answered.

A delegate holds CALENDAR_DELEGATE or FULL_ACCESS on the owner (the directory's
`permissions`, directly or through a group). Editors and read-write sharees may
change the owner's events but not answer for the owner.
"""

from __future__ import annotations

from typing import Any

from tidings.calendar.ical import main_components, parse_calendar
from tidings.calendar.itip import address_of
from tidings.model.directory import Permission, Principal
from tidings.model.errors import PermissionDenied
from tidings.store.services import DirectoryService

DELEGATING = frozenset({Permission.CALENDAR_DELEGATE, Permission.FULL_ACCESS})


async def is_delegate(directory: DirectoryService, actor: Principal, owner: Principal) -> bool:
    """Whether `actor` may answer invitations as `owner` (the owner itself may)."""
    if int(actor.id) == int(owner.id):
        return True
    pairs = await directory.permissions_of(actor.id)
    return any(int(o) == int(owner.id) and p in DELEGATING for o, p in pairs)


async def require_delegate(
    directory: DirectoryService, actor: Principal, owner: Principal
) -> None:
    """Raise PermissionDenied unless `actor` may answer invitations as `owner`."""
    if not await is_delegate(directory, actor, owner):
        raise PermissionDenied(
            f"only {owner.name} or a calendar delegate may answer this invitation; "
            "ask the owner for the calendar_delegate permission"
        )


def with_sent_by(text: str, attendee: str, sent_by: str) -> str:
    """The iTIP text with SENT-BY="mailto:`sent_by`" on the `attendee`'s ATTENDEE
    property in every component (RFC 5545 §3.2.18)."""
    calendar = parse_calendar(text)
    for component in main_components(calendar):
        for prop in _as_list(component.get("ATTENDEE")):
            if address_of(prop) == attendee:
                prop.params["SENT-BY"] = f"mailto:{sent_by}"
    return str(calendar.to_ical().decode())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
