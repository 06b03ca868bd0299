"""`tidings resource policy show|set`: how a room or equipment answers booking
requests, through the `AdminService` calls behind `/v1/principals/{address}/
resource-policy` (so a change is role-checked and audited with before/after).

Unlike the API's PUT, `set` changes only the options given and keeps the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

from tidings.admin.directory import policy_as_json
from tidings.cli.actions import actions_of, group, leaf
from tidings.cli.common import EXIT_USAGE, CLIError
from tidings.cli.directory import Admin
from tidings.model.directory import ResourcePolicy
from tidings.model.errors import NotFound
from tidings.model.ids import PrincipalId

if TYPE_CHECKING:
    from tidings.cli.actions import SubParsers


async def _view(admin: Admin, policy: ResourcePolicy, address: str) -> dict[str, object]:
    """The API's JSON of the policy plus the bookers' addresses, for people."""
    view = dict(policy_as_json(policy))
    names: list[str] = []
    for booker in policy.bookers:
        try:
            names.append((await admin.directory.directory.get_principal(booker)).name)
        except NotFound:
            names.append(f"#{booker}")  # removed since; the id is all there is
    return {"address": address, **view, "booker_addresses": names}


async def policy_show(admin: Admin, args: argparse.Namespace) -> object:
    target = await admin.directory.principal(admin.actor, args.address)
    policy = await admin.directory.resource_policy(admin.actor, target.name)
    return await _view(admin, policy, target.name)


def policy_changes(args: argparse.Namespace) -> dict[str, object]:
    changes: dict[str, object] = {}
    for name in ("auto_accept", "allow_conflicts"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    for name in ("capacity", "max_duration_minutes", "booking_window_days"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = None if value == 0 else value  # 0 means "no limit"
    return changes


async def policy_set(admin: Admin, args: argparse.Namespace) -> object:
    changes = policy_changes(args)
    if not changes and args.bookers is None and not args.everyone:
        raise CLIError("nothing to change: give at least one option (see --help)", EXIT_USAGE)
    target = await admin.directory.principal(admin.actor, args.address)
    policy = await admin.directory.resource_policy(admin.actor, target.name)
    if args.everyone:
        changes["bookers"] = ()
    elif args.bookers is not None:
        ids: list[PrincipalId] = []
        for address in args.bookers:
            ids.append((await admin.directory.principal(admin.actor, address)).id)
        changes["bookers"] = tuple(ids)
    updated = dataclasses.replace(policy, **changes)  # type: ignore[arg-type]
    saved = await admin.directory.set_resource_policy(admin.actor, target.name, updated)
    return await _view(admin, saved, target.name)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 (no limit) or more")
    return value


def add_resource_commands(commands: SubParsers) -> None:
    """Add `resource policy show|set` to the `resource` command."""
    sub = group(actions_of(commands, "resource"), "policy",
                "how a room or equipment answers booking requests")
    show = leaf(sub, "show", "show a resource's booking policy", policy_show)
    show.add_argument("address", help="the room's or equipment's address")
    change = leaf(sub, "set", "change the options given; the others stay as they are",
                  policy_set)  # fmt: skip
    change.add_argument("address", help="the room's or equipment's address")
    change.add_argument("--auto-accept", action=argparse.BooleanOptionalAction, default=None,
                        help="answer requests automatically (else a delegate decides)")
    change.add_argument("--allow-conflicts", action=argparse.BooleanOptionalAction,
                        default=None, help="accept bookings that overlap another")
    change.add_argument("--capacity", type=_count, metavar="N",
                        help="seats (informational); 0 removes it")
    change.add_argument("--max-duration-minutes", type=_count, metavar="N",
                        help="longest booking accepted; 0 for no limit")
    change.add_argument("--booking-window-days", type=_count, metavar="N",
                        help="how far ahead one may book; 0 for no limit")
    bookers = change.add_mutually_exclusive_group()
    bookers.add_argument("--booker", dest="bookers", action="append", metavar="ADDRESS",
                         help="who may book (repeat); replaces the current list")
    bookers.add_argument("--everyone", action="store_true",
                         help="let everyone in the domain book (clears the list)")
