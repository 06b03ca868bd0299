"""`tidings calendar share|unshare|shares`: share a principal's calendar (or, with
--addressbook, address book) with a user or group at a level (decision 0005a).

Each runs the `AdminService` operation behind
`/v1/principals/{address}/collections/{kind}/{name}/shares`, so changes are
role-checked and audited; with --url the same call goes to a server's API.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tidings.admin.calendars import CalendarAdminService
from tidings.cli.actions import group, leaf
from tidings.cli.directory import Admin
from tidings.cli.remote import Remote, RemoteAction, part
from tidings.model.dav import CollectionKind, ShareLevel
from tidings.model.errors import NotFound

if TYPE_CHECKING:
    from tidings.cli.actions import SubParsers

LEVELS = [level.value for level in ShareLevel]
LEVEL_HELP = (
    "free_busy (free/busy time only; calendars), read, read_write (objects), "
    "manage (everything the owner may do, sharing included)"
)


def _kind(args: argparse.Namespace) -> CollectionKind:
    return CollectionKind.ADDRESSBOOK if args.addressbook else CollectionKind.CALENDAR


def _service(admin: Admin) -> CalendarAdminService:
    service = admin.service.calendars
    if service is None:
        raise NotFound("this store has no calendars or address books")
    return service


# --- local ---------------------------------------------------------------------------
async def calendar_share(admin: Admin, args: argparse.Namespace) -> object:
    return await _service(admin).share(
        admin.actor, args.owner, _kind(args), args.collection, args.grantee,
        ShareLevel(args.level),
    )  # fmt: skip


async def calendar_unshare(admin: Admin, args: argparse.Namespace) -> object:
    return await _service(admin).share(
        admin.actor, args.owner, _kind(args), args.collection, args.grantee, None
    )


async def calendar_shares(admin: Admin, args: argparse.Namespace) -> object:
    rows = await _service(admin).shares(admin.actor, args.owner, _kind(args), args.collection)
    return rows if rows or args.json else "not shared with anyone"


# --- --url ---------------------------------------------------------------------------
def _path(args: argparse.Namespace) -> str:
    return (f"/v1/principals/{part(args.owner)}/collections/{_kind(args).value}/"
            f"{part(args.collection)}/shares")  # fmt: skip


async def remote_share(r: Remote, a: argparse.Namespace) -> object:
    result: object = await r.call("PUT", _path(a) + "/" + part(a.grantee), body={"level": a.level})
    return result


async def remote_unshare(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", _path(a) + "/" + part(a.grantee))
    return {"owner": a.owner.lower(), "kind": _kind(a).value, "collection": a.collection,
            "grantee": a.grantee.lower(), "level": None}  # fmt: skip


async def remote_shares(r: Remote, a: argparse.Namespace) -> object:
    rows = await r.items(_path(a))
    return rows if rows or a.json else "not shared with anyone"


REMOTE: dict[str, RemoteAction] = {
    "calendar share": remote_share,
    "calendar unshare": remote_unshare,
    "calendar shares": remote_shares,
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("owner", help="whose collection: a user, shared mailbox or resource")
    parser.add_argument("collection", help="the collection's name, e.g. default")
    parser.add_argument("--addressbook", action="store_true",
                        help="an address book, not a calendar")  # fmt: skip


def add_calendar_commands(commands: SubParsers) -> None:
    """Register `calendar share|unshare|shares` on the main parser."""
    sub = group(commands, "calendar", "share calendars and address books with users or groups")
    share = leaf(sub, "share", "share OWNER's COLLECTION with GRANTEE at LEVEL", calendar_share)
    _common(share)
    share.add_argument("grantee", help="a user or group")
    share.add_argument("level", choices=LEVELS, metavar="LEVEL", help=LEVEL_HELP)
    unshare = leaf(sub, "unshare", "stop sharing OWNER's COLLECTION with GRANTEE",
                   calendar_unshare)  # fmt: skip
    _common(unshare)
    unshare.add_argument("grantee", help="a user or group")
    shares = leaf(sub, "shares", "list who OWNER's COLLECTION is shared with", calendar_shares)
    _common(shares)
