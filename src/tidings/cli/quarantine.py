"""`tidings quarantine list|show|release|delete`: messages held by spam scoring,
antivirus or attachment blocking. The CLI acts as the local operator (`cli:<os user>`,
a global admin) through the same role-checked, audited service as the API."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Awaitable, Callable

from tidings.admin.auth import local_operator
from tidings.admin.hygiene import HygieneAdminService
from tidings.admin.roles import Actor
from tidings.admin.service import AdminService
from tidings.cli.common import (
    add_leaf,
    emit,
    load_config,
    opened_store,
    quiet_logging,
)
from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticator
from tidings.store.services import QuarantineEntry

Action = Callable[[HygieneAdminService, Actor, argparse.Namespace], Awaitable[object]]


def run_hygiene_action(args: argparse.Namespace) -> int:
    """Open the store, build the admin service, run the action, print its result."""
    action: Action = args.action
    settings = load_config(args)
    quiet_logging()

    async def go() -> object:
        async with opened_store(settings) as store:
            service = AdminService(
                DirectoryAdmin(store.directory), store.queue, store.audit, store.admin_access,
                Authenticator(store.directory), hostname=settings.server.hostname,
                hygiene=store, spam_rules=settings.spam.rules,
            )
            assert service.hygiene is not None
            return await action(service.hygiene, local_operator(getpass.getuser()), args)

    result = asyncio.run(go())
    if result is not None:
        emit(result, as_json=args.json)
    return 0


def entry_row(entry: QuarantineEntry) -> dict[str, object]:
    held = entry.held
    return {
        "id": entry.id,
        "created": entry.created_at.isoformat(timespec="seconds"),
        "status": entry.status,
        "reason": held.reason,
        "score": held.score,
        "sender": held.sender or "<>",
        "recipients": ",".join(held.recipients),
        "subject": held.subject[:60],
    }


async def quarantine_list(service: HygieneAdminService, actor: Actor,
                          args: argparse.Namespace) -> object:
    status = None if args.status == "all" else args.status
    entries, _total = await service.list_quarantine(actor, status=status, limit=10_000)
    rows = [entry_row(e) for e in entries]
    return rows if rows or args.json else "the quarantine is empty"


async def quarantine_show(service: HygieneAdminService, actor: Actor,
                          args: argparse.Namespace) -> object:
    entry = await service.get(actor, args.id)
    view: dict[str, object] = {**entry_row(entry), "from": entry.held.from_,
                               "report": entry.held.report,
                               "resolved_by": entry.resolved_by,
                               "headers": await service.header_section(actor, entry.id)}
    if args.json:
        return view
    head = "\n".join(f"{k}: {'-' if v is None else v}" for k, v in view.items() if k != "headers")
    return f"{head}\n\n{view['headers']}"


async def quarantine_release(service: HygieneAdminService, actor: Actor,
                             args: argparse.Namespace) -> object:
    released = []
    for entry_id in args.ids:
        _entry, copies = await service.release(actor, entry_id)
        released.append({"id": entry_id, "delivered": copies})
    return {"released": released}


async def quarantine_delete(service: HygieneAdminService, actor: Actor,
                            args: argparse.Namespace) -> object:
    for entry_id in args.ids:
        await service.delete(actor, entry_id)
    return {"deleted": list(args.ids)}


def leaf(parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
         help_text: str, action: Action) -> argparse.ArgumentParser:
    return add_leaf(parent, name, help_text, run_hygiene_action, action=action)


def add_quarantine_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `tidings quarantine ...` on the main parser."""
    quarantine = commands.add_parser(
        "quarantine", help="list, release or delete quarantined messages",
        description="Messages held by spam scoring, antivirus or attachment blocking.")
    sub = quarantine.add_subparsers(title="actions", metavar="ACTION", required=True)
    leaf(sub, "list", "list quarantined messages", quarantine_list).add_argument(
        "--status", choices=("held", "released", "deleted", "all"), default="held")
    leaf(sub, "show", "why a message was held, and its header fields",
         quarantine_show).add_argument("id", type=int)
    leaf(sub, "release", "deliver held messages to their recipients",
         quarantine_release).add_argument("ids", type=int, nargs="+", metavar="ID")
    leaf(sub, "delete", "drop held messages", quarantine_delete).add_argument(
        "ids", type=int, nargs="+", metavar="ID")
