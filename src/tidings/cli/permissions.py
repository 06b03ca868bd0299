"""`tidings permission grant|revoke|list` and `tidings admin-domain add|list|remove`.

Permissions are Exchange-style rights one principal (the owner: a user, shared
mailbox or resource) gives another (the grantee) over all of its data. Domain-admin
scopes are the extra domains a domain admin administers besides its own. Both call
the `AdminService` operations behind `/v1/principals/{address}/permissions` and
`/v1/principals/{address}/admin-domains`, so changes are role-checked and audited.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tidings.cli.actions import group, leaf
from tidings.cli.directory import Admin
from tidings.model.directory import Permission

PERMISSIONS = [p.value for p in Permission]
PERMISSION_HELP = (
    "full_access (open the mailbox), send_as (send as the owner), send_on_behalf "
    "(send on the owner's behalf), calendar_delegate, calendar_editor, "
    "calendar_reviewer, free_busy"
)

if TYPE_CHECKING:
    from tidings.cli.actions import SubParsers


# --- permissions ---------------------------------------------------------------------
async def permission_grant(admin: Admin, args: argparse.Namespace) -> object:
    permission = Permission(args.permission)
    await admin.directory.grant(admin.actor, args.owner, args.grantee, permission)
    return {"owner": args.owner.lower(), "grantee": args.grantee.lower(),
            "permission": permission.value, "granted": True}  # fmt: skip


async def permission_revoke(admin: Admin, args: argparse.Namespace) -> object:
    permission = Permission(args.permission)
    await admin.directory.grant(
        admin.actor, args.owner, args.grantee, permission, revoke=True
    )
    return {"owner": args.owner.lower(), "grantee": args.grantee.lower(),
            "permission": permission.value, "granted": False}  # fmt: skip


async def permission_list(admin: Admin, args: argparse.Namespace) -> object:
    """What the grantee was given, over whose data (`GET .../permissions`)."""
    pairs = await admin.directory.permissions(admin.actor, args.grantee)
    rows = [{"owner": owner, "permission": p.value} for owner, p in pairs]
    return rows if rows or args.json else "no permissions granted"


def _add_permission_commands(commands: SubParsers) -> None:
    sub = group(commands, "permission",
                "rights one principal gives another over its mail, calendar and contacts")
    for verb, text, action in (
        ("grant", "give GRANTEE a PERMISSION over OWNER's data", permission_grant),
        ("revoke", "take a PERMISSION over OWNER's data back from GRANTEE", permission_revoke),
    ):
        parser = leaf(sub, verb, text, action)
        parser.add_argument("owner", help="whose data: a user, shared mailbox or resource")
        parser.add_argument("grantee", help="who receives the right")
        parser.add_argument("permission", choices=PERMISSIONS, metavar="PERMISSION",
                            help=PERMISSION_HELP)
    listing = leaf(sub, "list", "list the permissions granted to GRANTEE", permission_list)
    listing.add_argument("grantee", help="the principal holding the permissions")


# --- domain-admin scopes -------------------------------------------------------------
async def admin_domain_add(admin: Admin, args: argparse.Namespace) -> object:
    await admin.directory.set_admin_domain(admin.actor, args.admin, args.domain)
    return {"admin": args.admin.lower(), "domain": args.domain.lower(), "added": True}


async def admin_domain_remove(admin: Admin, args: argparse.Namespace) -> object:
    await admin.directory.set_admin_domain(admin.actor, args.admin, args.domain, remove=True)
    return {"admin": args.admin.lower(), "domain": args.domain.lower(), "added": False}


async def admin_domain_list(admin: Admin, args: argparse.Namespace) -> object:
    domains = list(await admin.directory.admin_domains(admin.actor, args.admin))
    if args.json:
        return domains
    return [{"domain": d} for d in domains] or "no extra domains (only its own)"


def _add_admin_domain_commands(commands: SubParsers) -> None:
    sub = group(commands, "admin-domain",
                "extra domains a domain admin administers besides its own")
    add = leaf(sub, "add", "let the domain admin ADMIN administer DOMAIN too",
               admin_domain_add)  # fmt: skip
    add.add_argument("admin", help="the domain admin's address")
    add.add_argument("domain", help="an existing domain")
    listing = leaf(sub, "list", "list the extra domains of a domain admin", admin_domain_list)
    listing.add_argument("admin")
    remove = leaf(sub, "remove", "stop ADMIN administering DOMAIN", admin_domain_remove)
    remove.add_argument("admin")
    remove.add_argument("domain")


def add_permission_commands(commands: SubParsers) -> None:
    """Register `permission` and `admin-domain` on the main parser."""
    _add_permission_commands(commands)
    _add_admin_domain_commands(commands)
