"""`tidings domain dns`, `tidings principal list|show`, `tidings user|group|shared|
resource edit` and `tidings user app-password add|list|remove`.

Each action calls the same `AdminService` operation as the admin API endpoint it
mirrors (`GET /v1/domains/{name}/dns`, `GET /v1/principals`, `PATCH
/v1/principals/{address}`, `.../app-passwords`), as the local operator, so role
checks and audit records are the same.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING

from tidings.admin.dns import DNSRecord, dns_records
from tidings.cli.actions import actions_of, group, leaf
from tidings.cli.common import EXIT_USAGE, CLIError
from tidings.cli.directory import Admin, principal_list, principal_of_kind, principal_show
from tidings.directory.admin import app_password_as_json, principal_as_json
from tidings.model.directory import PrincipalKind, Role

ALL_KINDS = [k.value for k in PrincipalKind]
# Which command edits which kinds, and which of the PATCH fields it offers.
EDITABLE: dict[str, tuple[frozenset[PrincipalKind], bool, bool]] = {
    # noun: (kinds, offers --role, offers --quota)
    "user": (frozenset({PrincipalKind.USER}), True, True),
    "group": (frozenset({PrincipalKind.GROUP}), False, False),
    "shared": (frozenset({PrincipalKind.SHARED}), False, True),
    "resource": (frozenset({PrincipalKind.ROOM, PrincipalKind.EQUIPMENT}), False, True),
}

if TYPE_CHECKING:
    from tidings.cli.actions import SubParsers


# --- domain dns ----------------------------------------------------------------------
def zone_line(record: DNSRecord) -> str:
    """One master-file line (RFC 1035 section 5.1); TXT data goes in quotes."""
    value = f'"{record.value}"' if record.type == "TXT" else record.value
    return f"{record.name}\t{record.ttl}\tIN\t{record.type}\t{value}\t; {record.purpose}"


async def domain_dns(admin: Admin, args: argparse.Namespace) -> object:
    """The records to publish for a domain, as `GET /v1/domains/{name}/dns` gives them."""
    domain = await admin.directory.get_domain(admin.actor, args.name)
    records = dns_records(domain.name, admin.service.hostname)
    if args.json:
        return {"domain": domain.name, "records": [asdict(r) for r in records]}
    if args.zone:
        return "\n".join(zone_line(r) for r in records)
    return [{"name": r.name, "type": r.type, "value": r.value, "purpose": r.purpose}
            for r in records]  # fmt: skip


# --- edit ----------------------------------------------------------------------------
async def principal_edit(admin: Admin, args: argparse.Namespace) -> object:
    """Change what `PATCH /v1/principals/{address}` changes; each change is audited."""
    role = Role(args.role) if getattr(args, "role", None) else None
    quota = getattr(args, "quota", None)
    clear_quota = bool(getattr(args, "no_quota", False))
    if args.display_name is None and args.enabled is None and role is None and (
        quota is None and not clear_quota
    ):
        raise CLIError("nothing to change: give at least one option (see --help)", EXIT_USAGE)
    target = await principal_of_kind(admin, args.address, args.edit_kinds)
    after = await admin.directory.update(
        admin.actor,
        target.name,
        display_name=args.display_name,
        enabled=args.enabled,
        role=role,
        quota_bytes=quota,
        clear_quota=clear_quota,
    )
    return principal_as_json(after)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bytes, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a quota cannot be negative")
    return value


def _add_edit(actions: SubParsers, noun: str) -> None:
    kinds, with_role, with_quota = EDITABLE[noun]
    what = "shared mailbox" if noun == "shared" else noun
    fields = ["display name", "state", *(["role"] if with_role else []),
              *(["quota"] if with_quota else [])]  # fmt: skip
    changes = ", ".join(fields[:-1]) + " or " + fields[-1]
    edit = leaf(actions, "edit", f"change a {what}'s {changes}", principal_edit,
                edit_kinds=kinds)  # fmt: skip
    edit.add_argument("address", help=f"the {what}'s address or one of its aliases")
    edit.add_argument("--display-name", help="the new name people see")
    state = edit.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True,
                       help="allow logins and delivery again")
    state.add_argument("--disable", dest="enabled", action="store_const", const=False,
                       help="refuse logins and delivery, keeping the data")  # fmt: skip
    edit.set_defaults(enabled=None)
    if with_role:
        edit.add_argument("--role", choices=[r.value for r in Role],
                          help="administrative role (admin roles: global admins only)")
    if with_quota:
        quota = edit.add_mutually_exclusive_group()
        quota.add_argument("--quota", type=_non_negative, metavar="BYTES",
                           help="storage quota in bytes")
        quota.add_argument("--no-quota", action="store_true", help="remove the quota")


# --- app passwords -------------------------------------------------------------------
async def app_password_add(admin: Admin, args: argparse.Namespace) -> object:
    """Create one; the secret is printed now and never again (only its hash is kept)."""
    target = await principal_of_kind(admin, args.address, EDITABLE["user"][0])
    created, secret = await admin.directory.add_app_password(admin.actor, target.name, args.label)
    return {**app_password_as_json(created), "address": target.name, "password": secret}


async def app_password_list(admin: Admin, args: argparse.Namespace) -> object:
    found = await admin.directory.app_passwords(admin.actor, args.address)
    rows = [app_password_as_json(a) for a in found]
    return rows if rows or args.json else "no app passwords"


async def app_password_remove(admin: Admin, args: argparse.Namespace) -> object:
    await admin.directory.remove_app_password(admin.actor, args.address, args.id)
    return {"address": args.address.lower(), "removed": args.id}


def _add_app_passwords(users: SubParsers) -> None:
    sub = group(users, "app-password",
                "passwords for one mail client each (IMAP, SMTP, DAV), revocable alone")
    add = leaf(sub, "add", "create an app password; prints the secret once", app_password_add)
    add.add_argument("address", help="the user's address")
    add.add_argument("label", help="what it is for, e.g. 'phone'")
    listing = leaf(sub, "list", "list a user's app passwords (never the secrets)",
                   app_password_list)
    listing.add_argument("address")
    remove = leaf(sub, "remove", "revoke an app password", app_password_remove)
    remove.add_argument("address")
    remove.add_argument("id", type=int, help="its id, from `tidings user app-password list`")


# --- registration --------------------------------------------------------------------
def add_principal_commands(commands: SubParsers) -> None:
    """Add `domain dns`, `principal`, `... edit` and `user app-password` (after
    `add_directory_commands` has registered domain, user, group, shared, resource)."""
    dns = leaf(actions_of(commands, "domain"), "dns",
               "the DNS records to publish for a domain (MX, SPF, DKIM, DMARC, SRV, MTA-STS)",
               domain_dns)  # fmt: skip
    dns.add_argument("name", metavar="DOMAIN")
    dns.add_argument("--zone", action="store_true", help="print master-file (zone) lines")

    principals = group(commands, "principal",
                       "principals of every kind: users, groups, shared mailboxes, resources")
    listing = leaf(principals, "list", "list principals of every kind", principal_list,
                   kinds=ALL_KINDS)  # fmt: skip
    listing.add_argument("--kind", choices=ALL_KINDS, help="only this kind")
    listing.add_argument("--domain", help="only principals of this domain")
    listing.add_argument("--query", help="only addresses or display names containing this")
    listing.add_argument("--offset", type=int, default=0, help="skip this many (default 0)")
    listing.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    show = leaf(principals, "show", "show any principal with its aliases (and members)",
                principal_show, kinds=ALL_KINDS)  # fmt: skip
    show.add_argument("address", help="its address or one of its aliases")

    for noun in EDITABLE:
        _add_edit(actions_of(commands, noun), noun)
    _add_app_passwords(actions_of(commands, "user"))
