"""The organisation address book (GAL): one vCard 4.0 (RFC 6350) per directory
principal of a domain, with a state hash standing in for a change log.

Pure: principals in, cards out. The UID of a card is derived from the principal's
id, so it stays the same when the principal's name or address changes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tidings.model.dav import DAVObject
from tidings.model.directory import PrincipalKind
from tidings.model.ids import ModSeq

# RFC 6350 §6.1.4 KIND (with RFC 6869's "device" for equipment).
KINDS = {
    PrincipalKind.USER: "individual",
    PrincipalKind.SHARED: "individual",
    PrincipalKind.GROUP: "group",
    PrincipalKind.ROOM: "location",
    PrincipalKind.EQUIPMENT: "device",
}
_NAMESPACE = uuid.UUID("8f4d2f7e-5b1c-4c57-9d43-6c3b7e0a2f11")


@dataclass(frozen=True, slots=True)
class GALEntry:
    """What the GAL shows of one principal."""

    principal_id: int
    kind: PrincipalKind
    address: str
    display_name: str
    members: tuple[str, ...] = ()  # a group's member addresses


def gal_uid(principal_id: int) -> str:
    """A stable UID for a principal's card (RFC 6350 §6.7.6 urn:uuid form)."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'tidings-principal:{principal_id}')}"


def _escape(value: str) -> str:
    """RFC 6350 §3.4: backslash, comma, semicolon and newline are escaped."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def card_text(entry: GALEntry) -> str:
    name = entry.display_name or entry.address
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:{gal_uid(entry.principal_id)}",
        f"KIND:{KINDS[entry.kind]}",
        f"FN:{_escape(name)}",
        f"EMAIL;TYPE=work:{entry.address}",
    ]
    if entry.kind is PrincipalKind.USER:
        lines.append(f"N:{_escape(name)};;;;")
    lines += [f"MEMBER:mailto:{member}" for member in entry.members]
    lines += ["PRODID:-//Tidings//GAL//EN", "END:VCARD"]
    return "\r\n".join(lines) + "\r\n"


def gal_objects(entries: Sequence[GALEntry], collection_id: int = 0) -> list[DAVObject]:
    """The cards as read-only DAV objects, ordered by resource name."""
    found = []
    for entry in entries:
        data = card_text(entry)
        uid = gal_uid(entry.principal_id)
        found.append(
            DAVObject(
                id=entry.principal_id,
                collection_id=collection_id,
                name=f"{uid.rsplit(':', 1)[-1]}.vcf",
                uid=uid,
                etag=hashlib.sha256(data.encode()).hexdigest()[:40],
                component="VCARD",
                data=data,
                first_start=None,
                last_end=None,
                modseq=ModSeq(0),
            )
        )
    found.sort(key=lambda o: o.name)
    return found


def gal_state(objects: Sequence[DAVObject]) -> ModSeq:
    """A number that changes whenever any card is added, changed or removed: the
    GAL's CTag and sync token (the directory keeps no change log)."""
    digest = hashlib.sha256()
    for obj in objects:
        digest.update(f"{obj.name}\x00{obj.etag}\n".encode())
    return ModSeq(int(digest.hexdigest()[:15], 16))
