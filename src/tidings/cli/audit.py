"""`tidings audit verify|list|export` and `tidings token create|list|revoke`.

They act as the local operator (`cli:<os user>`, a global admin: whoever can
read the server's config can read its database anyway); token changes are audited.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from tidings.admin.auth import local_operator
from tidings.admin.service import AdminService, build_admin_service
from tidings.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_leaf,
    emit,
    load_config,
    opened_store,
    quiet_logging,
)
from tidings.directory.auth import Authenticator
from tidings.model.directory import Role
from tidings.policy.audit import record_as_json, records_as_csv

Action = Callable[[AdminService, argparse.Namespace], Awaitable[int]]


def _run(args: argparse.Namespace) -> int:
    action: Action = args.action
    settings = load_config(args)
    quiet_logging()

    async def go() -> int:
        async with opened_store(settings) as store:
            service = build_admin_service(
                store, Authenticator(store.directory), hostname=settings.server.hostname
            )
            return await action(service, args)

    return asyncio.run(go())


async def audit_verify(service: AdminService, args: argparse.Namespace) -> int:
    bad = await service.operations.verify_audit(local_operator(getpass.getuser()))
    _records, total = await service.trail.service.list(limit=1)
    if bad is None:
        emit({"valid": True, "records": total}, as_json=args.json)
        return EXIT_OK
    emit({"valid": False, "first_bad_id": bad, "records": total}, as_json=args.json)
    sys.stderr.write(f"tidings: error: audit record {bad} does not match the hash chain\n")
    return EXIT_FAILED


async def audit_list(service: AdminService, args: argparse.Namespace) -> int:
    from tidings.store.services import AuditFilter

    filters = AuditFilter(
        action=args.action_filter,
        actor=args.actor,
        object_type=args.object_type,
        object_id=args.object_id,
        since=args.since,
        until=args.until,
    )
    records, _total = await service.operations.audit_records(
        local_operator(getpass.getuser()), filters, offset=args.offset, limit=args.limit
    )
    if args.json:
        emit([record_as_json(r) for r in records], as_json=True)
    else:
        rows = [
            {"id": r.id, "at": r.at.isoformat(timespec="seconds"), "actor": r.event.actor,
             "action": r.event.action, "object": r.event.object_id}
            for r in records
        ]  # fmt: skip
        emit(rows, as_json=False)
    return EXIT_OK


async def audit_export(service: AdminService, args: argparse.Namespace) -> int:
    actor = local_operator(getpass.getuser())
    await service.operations.audit_records(actor, limit=1)  # the role check
    records = [r async for r in service.trail.all_records()]
    if args.format == "csv":
        text = records_as_csv(records)
    else:
        text = json.dumps([record_as_json(r) for r in records], indent=2, ensure_ascii=False)
        text += "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(Path(args.output).write_text, text, "utf-8", None, "")
    return EXIT_OK


async def token_create(service: AdminService, args: argparse.Namespace) -> int:
    token, secret = await service.operations.create_token(
        local_operator(getpass.getuser()),
        args.name,
        role=Role(args.role) if args.role else None,
        for_address=args.principal,
    )
    emit({"id": token.id, "role": token.role.value, "token": secret}, as_json=args.json)
    return EXIT_OK


async def token_list(service: AdminService, args: argparse.Namespace) -> int:
    tokens = await service.operations.list_tokens(local_operator(getpass.getuser()))
    rows = [
        {"id": t.id, "principal_id": t.principal_id, "name": t.name, "role": t.role.value,
         "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None}
        for t in tokens
    ]  # fmt: skip
    emit(rows, as_json=args.json)
    return EXIT_OK


async def token_revoke(service: AdminService, args: argparse.Namespace) -> int:
    await service.operations.revoke_token(local_operator(getpass.getuser()), args.id)
    emit({"revoked": args.id}, as_json=args.json)
    return EXIT_OK


def _moment(text: str) -> datetime:
    """An ISO 8601 date-time with its offset, as the API's `since`/`until` take."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone offset, e.g. +00:00")
    return moment


def _leaf(
    parent: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    action: Action,
) -> argparse.ArgumentParser:
    return add_leaf(parent, name, help_text, _run, action=action)


def add_audit_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `audit` and `token` on the main parser."""
    audit = commands.add_parser("audit", help="check, read and export the admin audit log")
    asub = audit.add_subparsers(title="actions", metavar="ACTION", required=True)
    _leaf(asub, "verify", "check the hash chain; exit 1 naming the first bad record", audit_verify)
    listing = _leaf(asub, "list", "list audit records, oldest first", audit_list)
    listing.add_argument("--action", dest="action_filter", help="exact, or a prefix ending in .")
    listing.add_argument("--actor", help="only this actor")
    listing.add_argument("--object-type", help="only this kind of object (principal, domain...)")
    listing.add_argument("--object-id", help="only this object (an address, a domain, an id)")
    listing.add_argument("--since", type=_moment, help="ISO 8601 with offset: not before")
    listing.add_argument("--until", type=_moment, help="ISO 8601 with offset: not after")
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--limit", type=int, default=100)
    export = _leaf(asub, "export", "write every record as JSON or CSV", audit_export)
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")

    token = commands.add_parser("token", help="manage admin API tokens")
    tsub = token.add_subparsers(title="actions", metavar="ACTION", required=True)
    create = _leaf(tsub, "create", "create a token; prints the secret once", token_create)
    create.add_argument("--principal", required=True, help="the admin the token acts as")
    create.add_argument("--name", required=True, help="what the token is for")
    create.add_argument(
        "--role",
        choices=[r.value for r in Role if r is not Role.USER],
        help="default: the principal's own role",
    )
    _leaf(tsub, "list", "list tokens", token_list)
    _leaf(tsub, "revoke", "revoke a token", token_revoke).add_argument("id", type=int)
