"""Submission rules (RFC 6409): the envelope sender and the From: header must be
addresses the user owns or may send as / on behalf of; Message-ID and Date are
added when missing (RFC 6409 §8.2-8.3); "on behalf" mail gets a Sender: field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tidings.mime.addresses import flatten, parse_address_list
from tidings.mime.build import ensure_message_id_and_date, prepend_header
from tidings.mime.headers import find_body_start, parse_headers
from tidings.model.directory import Permission, Principal
from tidings.model.errors import PolicyRejection
from tidings.store.services import DirectoryService

# Exchange's code for "client does not have permission to send as this sender".
SEND_AS_DENIED = "5.7.60"


@dataclass(frozen=True, slots=True)
class SenderRights:
    """The addresses (lower-case) one principal may use as sender."""

    principal: Principal
    own: frozenset[str]
    send_as: frozenset[str] = frozenset()
    on_behalf: frozenset[str] = frozenset()

    def may_send_from(self, address: str) -> bool:
        key = address.lower()
        return key in self.own or key in self.send_as or key in self.on_behalf

    def needs_sender_field(self, address: str) -> bool:
        """True when `address` is usable only "on behalf", so Sender: must name the user."""
        key = address.lower()
        return key in self.on_behalf and key not in self.own and key not in self.send_as


async def _addresses(directory: DirectoryService, principal: Principal) -> set[str]:
    aliases = await directory.list_aliases(principal.id)
    return {principal.name.lower(), *(alias.lower() for alias in aliases)}


async def load_sender_rights(directory: DirectoryService, principal: Principal) -> SenderRights:
    """Own addresses and aliases, plus those of principals granting SEND_AS/ON_BEHALF."""
    own = await _addresses(directory, principal)
    send_as: set[str] = set()
    on_behalf: set[str] = set()
    for owner_id, permission in await directory.permissions_of(principal.id):
        if permission not in (Permission.SEND_AS, Permission.SEND_ON_BEHALF):
            continue
        owner = await directory.get_principal(owner_id)
        target = send_as if permission is Permission.SEND_AS else on_behalf
        target |= await _addresses(directory, owner)
    return SenderRights(principal, frozenset(own), frozenset(send_as), frozenset(on_behalf))


def check_envelope_sender(rights: SenderRights, sender: str) -> None:
    """MAIL FROM on submission. Raises PolicyRejection."""
    if not sender:
        raise PolicyRejection(
            "The null sender <> is not allowed on submission", SEND_AS_DENIED
        )
    if not rights.may_send_from(sender):
        raise PolicyRejection(
            f"{rights.principal.name} may not send as <{sender}>; use an address you own "
            "or ask for send-as rights",
            SEND_AS_DENIED,
        )


def prepare_submitted(raw: bytes, rights: SenderRights, *, domain: str, now: datetime) -> bytes:
    """Check From:/Sender: and add the fields RFC 6409 lets us add. Raises PolicyRejection."""
    body_start, _ = find_body_start(raw)
    headers = parse_headers(raw, 0, body_start)
    from_fields = headers.get_all("from")
    if len(from_fields) != 1:
        raise PolicyRejection("The message needs exactly one From: header field", "5.6.0")
    authors = flatten(parse_address_list(from_fields[0]))
    if not authors:
        raise PolicyRejection("The From: header field holds no address", "5.6.0")
    for author in authors:
        if not rights.may_send_from(author.addr_spec):
            raise PolicyRejection(
                f"{rights.principal.name} may not send mail From: <{author.addr_spec}>; "
                "use an address you own or ask for send-as rights",
                SEND_AS_DENIED,
            )
    prepared = raw
    if any(rights.needs_sender_field(author.addr_spec) for author in authors):
        sender = headers.get("sender")
        if sender is None:
            prepared = prepend_header(prepared, "Sender", rights.principal.name)
        elif not any(
            a.addr_spec.lower() in rights.own for a in flatten(parse_address_list(sender))
        ):
            raise PolicyRejection(
                "Mail sent on behalf of someone else needs your own address in Sender:",
                SEND_AS_DENIED,
            )
    return ensure_message_id_and_date(prepared, domain, now)
