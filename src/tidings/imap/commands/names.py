"""Mailbox names across namespaces (RFC 2342, RFC 9051 §6.3.10): the personal one (""),
other users' ("Other Users/<address>/") and shared mailboxes ("Shared/<address>/")."""

from __future__ import annotations

from dataclasses import dataclass

from tidings.imap.commands.context import CommandError, Ctx
from tidings.model.directory import PrincipalKind
from tidings.model.errors import NotFound
from tidings.model.ids import AccountId
from tidings.model.mail import Mailbox

DELIMITER = "/"
OTHER_USERS = "Other Users/"
SHARED = "Shared/"


@dataclass(frozen=True, slots=True)
class Located:
    account: AccountId
    local: str  # the name inside that account ("" for the namespace node itself)
    prefix: str  # what precedes `local` in the client's view ("" for personal)


def canonical_local(name: str) -> str:
    """INBOX is case-insensitive (RFC 9051 §5.1), also as the first level of a path."""
    head, sep, rest = name.partition(DELIMITER)
    if head.upper() == "INBOX":
        head = "INBOX"
    return head + sep + rest


async def locate(ctx: Ctx, wire_name: str) -> Located:
    """Which account and local name a client's mailbox name means."""
    try:
        name = ctx.session.mailbox_name(wire_name).rstrip(DELIMITER)
    except ValueError as exc:
        raise CommandError("BAD", "Mailbox name is not valid modified UTF-7") from exc
    for namespace in (OTHER_USERS, SHARED):
        if name.startswith(namespace) or name + DELIMITER == namespace:
            rest = name[len(namespace) :]
            address, _sep, local = rest.partition(DELIMITER)
            if not address:
                return Located(ctx.account, "", namespace)
            try:
                principal = await ctx.services.directory.find_principal(address)
            except NotFound as exc:
                raise CommandError("NO", "No such mailbox", "NONEXISTENT") from exc
            return Located(
                AccountId(principal.id),
                canonical_local(local),
                f"{namespace}{principal.name}{DELIMITER}",
            )
    return Located(ctx.account, canonical_local(name), "")


async def find(ctx: Ctx, wire_name: str) -> tuple[Located, Mailbox]:
    """The mailbox a name denotes. Raises CommandError NO [NONEXISTENT]."""
    located = await locate(ctx, wire_name)
    if not located.local:
        raise CommandError("NO", "That name is a namespace, not a mailbox", "NONEXISTENT")
    try:
        mailbox = await ctx.mail.find_mailbox(ctx.actor, located.account, located.local)
    except NotFound as exc:
        raise CommandError("NO", "No such mailbox", "NONEXISTENT") from exc
    return located, mailbox


def display(ctx: Ctx, located_prefix: str, local: str) -> str:
    """The wire form of a mailbox name as the client should see it."""
    return ctx.session.wire_name(located_prefix + local)


async def namespace_of(ctx: Ctx, address: str) -> str:
    """ "Shared/" for shared mailboxes (and resources), "Other Users/" for people."""
    try:
        principal = await ctx.services.directory.find_principal(address)
    except NotFound:
        return OTHER_USERS
    return OTHER_USERS if principal.kind is PrincipalKind.USER else SHARED
