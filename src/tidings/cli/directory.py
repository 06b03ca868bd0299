"""`tidings domain|user|group|alias|resource|shared ...`: directory administration.

Each action is one small coroutine over the `AdminService`, acting as the local
operator (`cli:<os user>`), so every change leaves an audit record just as the
API and the console do. It returns what to print (text or `--json`). Service
errors become one line and exit code 1 (2 for bad input).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet

from tidings.admin.auth import local_operator
from tidings.admin.roles import Actor
from tidings.admin.service import AdminService, build_admin_service
from tidings.cli.common import (
    add_leaf,
    add_password_options,
    emit,
    load_config,
    opened_store,
    quiet_logging,
    read_password,
)
from tidings.directory.admin import domain_as_json, principal_as_json
from tidings.directory.auth import Authenticator
from tidings.model.directory import Principal, PrincipalKind, Role
from tidings.model.errors import InvalidInput, NotFound


class Admin:
    """The service and the local operator every action acts as."""

    def __init__(self, service: AdminService, actor: Actor) -> None:
        self.service = service
        self.directory = service.directory
        self.actor = actor


Action = Callable[[Admin, argparse.Namespace], Awaitable[object]]


def run_action(args: argparse.Namespace) -> int:
    """Open the store from the config, run the chosen action, print its result."""
    action: Action = args.action
    settings = load_config(args)
    quiet_logging()

    async def go() -> object:
        async with opened_store(settings) as store:
            service = build_admin_service(
                store, Authenticator(store.directory), hostname=settings.server.hostname
            )
            return await action(Admin(service, local_operator(getpass.getuser())), args)

    result = asyncio.run(go())
    if result is not None:
        emit(result, as_json=args.json)
    return 0


# --- domains -------------------------------------------------------------------------
async def domain_add(admin: Admin, args: argparse.Namespace) -> object:
    return domain_as_json(await admin.directory.create_domain(admin.actor, args.name))


async def domain_list(admin: Admin, args: argparse.Namespace) -> object:
    return [domain_as_json(d) for d in await admin.directory.list_domains(admin.actor)]


async def domain_show(admin: Admin, args: argparse.Namespace) -> object:
    return domain_as_json(await admin.directory.get_domain(admin.actor, args.name))


async def domain_remove(admin: Admin, args: argparse.Namespace) -> object:
    await admin.directory.delete_domain(admin.actor, args.name)
    return {"removed": args.name}


# --- principals of every kind --------------------------------------------------------
async def principal_of_kind(
    admin: Admin, address: str, kinds: AbstractSet[PrincipalKind]
) -> Principal:
    """The principal, checked to be of a kind the command manages."""
    principal = await admin.directory.principal(admin.actor, address)
    if principal.kind not in kinds:
        wanted = " or ".join(sorted(k.value for k in kinds))
        raise InvalidInput(
            f"{principal.name} is a {principal.kind.value}, not a {wanted}", field="address"
        )
    return principal


def _kinds(args: argparse.Namespace) -> set[PrincipalKind]:
    return {PrincipalKind(k) for k in args.kinds}


def _row(p: Principal) -> dict[str, object]:
    return {
        "address": p.name,
        "kind": p.kind.value,
        "display_name": p.display_name,
        "role": p.role.value,
        "enabled": p.enabled,
    }


async def principal_list(admin: Admin, args: argparse.Namespace) -> object:
    kinds = _kinds(args)
    if getattr(args, "kind", None):
        kinds = {PrincipalKind(args.kind)}
    rows: list[Principal] = []
    for kind in sorted(kinds):
        found, _total = await admin.directory.list_principals(
            admin.actor,
            kind=kind,
            domain=args.domain,
            query=args.query,
            offset=args.offset,
            limit=args.limit,
        )
        rows.extend(found)
    if args.json:
        return [principal_as_json(p) for p in rows]
    return [_row(p) for p in rows]


async def principal_show(admin: Admin, args: argparse.Namespace) -> object:
    principal = await principal_of_kind(admin, args.address, _kinds(args))
    view: dict[str, object] = dict(principal_as_json(principal))
    view["aliases"] = list(await admin.directory.aliases(admin.actor, principal.name))
    if principal.kind is PrincipalKind.GROUP:
        members = await admin.directory.members(admin.actor, principal.name)
        view["members"] = [m.name for m in members]
    return view


async def principal_remove(admin: Admin, args: argparse.Namespace) -> object:
    principal = await principal_of_kind(admin, args.address, _kinds(args))
    await admin.directory.delete(admin.actor, principal.name)
    return {"removed": principal.name}


async def principal_add(admin: Admin, args: argparse.Namespace) -> object:
    kind = PrincipalKind(getattr(args, "kind", None) or args.kinds[0])
    principal = await admin.directory.create_principal(
        admin.actor, kind, args.address, display_name=args.display_name
    )
    return principal_as_json(principal)


async def user_add(admin: Admin, args: argparse.Namespace) -> object:
    principal, generated = await admin.directory.create_user(
        admin.actor,
        args.address,
        password=read_password(args),
        display_name=args.display_name,
        role=Role(args.role),
        quota_bytes=args.quota,
    )
    view: dict[str, object] = dict(principal_as_json(principal))
    if generated is not None:
        view["password"] = generated  # shown once; only its hash is stored
    return view


async def user_passwd(admin: Admin, args: argparse.Namespace) -> object:
    await principal_of_kind(admin, args.address, _kinds(args))
    generated = await admin.directory.reset_password(
        admin.actor, args.address, read_password(args)
    )
    view: dict[str, object] = {"address": args.address, "password_changed": True}
    if generated is not None:
        view["password"] = generated
    return view


async def user_totp(admin: Admin, args: argparse.Namespace) -> object:
    """Enrol a TOTP second factor (prints the otpauth URI once) or remove it."""
    factors = admin.service.second_factor
    if factors is None:
        raise NotFound("this store keeps no second factors")
    principal = await principal_of_kind(admin, args.address, {PrincipalKind.USER})
    if args.totp_action == "disable":
        await factors.disable(admin.actor, principal.name)
        return {"address": principal.name, "totp": "disabled"}
    uri = await factors.enable(admin.actor, principal.name)
    return {"address": principal.name, "totp": "enabled", "otpauth_uri": uri}


async def group_members(admin: Admin, args: argparse.Namespace) -> object:
    for member in args.add or ():
        await admin.directory.add_member(admin.actor, args.address, member)
    for member in args.remove or ():
        await admin.directory.remove_member(admin.actor, args.address, member)
    members = await admin.directory.members(admin.actor, args.address)
    if args.json:
        return [principal_as_json(m) for m in members]
    return [_row(m) for m in members]


# --- aliases -------------------------------------------------------------------------
async def alias_add(admin: Admin, args: argparse.Namespace) -> object:
    await admin.directory.add_alias(admin.actor, args.target, args.alias)
    return {"alias": args.alias, "target": args.target}


async def alias_list(admin: Admin, args: argparse.Namespace) -> object:
    aliases = list(await admin.directory.aliases(admin.actor, args.address))
    return aliases if args.json else [{"alias": a} for a in aliases]


async def alias_remove(admin: Admin, args: argparse.Namespace) -> object:
    target = await admin.directory.principal(admin.actor, args.alias)  # found by its alias
    await admin.directory.remove_alias(admin.actor, target.name, args.alias)
    return {"removed": args.alias}


# --- the parser ----------------------------------------------------------------------
def _leaf(
    parent: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    action: Action,
    **defaults: object,
) -> argparse.ArgumentParser:
    return add_leaf(parent, name, help_text, run_action, action=action, **defaults)


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--domain", help="only principals of this domain")
    parser.add_argument("--query", help="only addresses or display names containing this")
    parser.add_argument("--offset", type=int, default=0, help="skip this many (default 0)")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")


def _principal_group(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    noun: str,
    kinds: list[str],
    summary: str,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = commands.add_parser(noun, help=summary, description=summary)
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    common = {"kinds": kinds}
    what = "shared mailbox" if noun == "shared" else noun  # "shared" is not a noun
    plural = "shared mailboxes" if noun == "shared" else f"{noun}s"
    listing = _leaf(sub, "list", f"list {plural}", principal_list, **common)
    _list_options(listing)
    show = _leaf(sub, "show", f"show one {what} with its aliases", principal_show, **common)
    show.add_argument("address", help=f"the {what}'s address or one of its aliases")
    remove = _leaf(sub, "remove", f"remove a {what} and all its data", principal_remove, **common)
    remove.add_argument("address")
    if noun != "user":
        add = _leaf(sub, "add", f"create a {what}", principal_add, **common)
        add.add_argument("address", help="its primary address, in an existing domain")
        add.add_argument("--display-name", default="", help="the name people see")
        if noun == "resource":
            add.add_argument("--kind", choices=kinds, required=True, help="room or equipment")
            listing.add_argument("--kind", choices=kinds, help="only rooms or only equipment")
    return sub


def add_directory_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register domain, user, group, alias, resource and shared on the main parser."""
    domain = commands.add_parser("domain", help="manage mail domains", description="Mail domains.")
    dsub = domain.add_subparsers(title="actions", metavar="ACTION", required=True)
    _leaf(dsub, "add", "add a domain", domain_add).add_argument("name", help="e.g. example.org")
    _leaf(dsub, "list", "list domains", domain_list)
    _leaf(dsub, "show", "show a domain", domain_show).add_argument("name")
    _leaf(dsub, "remove", "remove an empty domain", domain_remove).add_argument("name")

    users = _principal_group(commands, "user", ["user"], "manage users (people who log in)")
    add = _leaf(
        users, "add", "create a user; prints a generated password once", user_add, kinds=["user"]
    )
    add.add_argument("address", help="login and primary address, e.g. alice@example.org")
    add.add_argument("--display-name", default="", help="the name people see")
    add.add_argument(
        "--role",
        default=Role.USER.value,
        choices=[r.value for r in Role],
        help="administrative role (default: user)",
    )
    add.add_argument("--quota", type=int, metavar="BYTES", help="storage quota (default: none)")
    add_password_options(add)
    passwd = _leaf(
        users, "passwd", "set a new password (generated unless given)", user_passwd, kinds=["user"]
    )
    passwd.add_argument("address")
    add_password_options(passwd)
    totp = users.add_parser("totp", help="the TOTP second factor for the admin console")
    totp_sub = totp.add_subparsers(title="actions", metavar="ACTION", required=True)
    for verb, text in (("enable", "enrol a new TOTP secret; prints the otpauth URI once"),
                       ("disable", "remove the TOTP second factor")):  # fmt: skip
        leaf = _leaf(totp_sub, verb, text, user_totp, kinds=["user"], totp_action=verb)
        leaf.add_argument("address")

    groups = _principal_group(commands, "group", ["group"], "manage groups (distribution lists)")
    members = _leaf(
        groups, "members", "list, add or remove group members", group_members, kinds=["group"]
    )
    members.add_argument("address", help="the group's address")
    members.add_argument("--add", action="append", metavar="ADDRESS", help="add this member")
    members.add_argument("--remove", action="append", metavar="ADDRESS", help="remove member")

    _principal_group(commands, "resource", ["room", "equipment"], "manage rooms and equipment")
    _principal_group(commands, "shared", ["shared"], "manage shared mailboxes")

    alias = commands.add_parser(
        "alias",
        help="manage address aliases",
        description="Extra addresses that deliver to a principal.",
    )
    asub = alias.add_subparsers(title="actions", metavar="ACTION", required=True)
    a_add = _leaf(asub, "add", "add an alias address to a principal", alias_add)
    a_add.add_argument("alias", help="the new address, e.g. info@example.org")
    a_add.add_argument("target", help="the principal that receives its mail")
    a_list = _leaf(asub, "list", "list the aliases of a principal", alias_list)
    a_list.add_argument("address")
    _leaf(asub, "remove", "remove an alias", alias_remove).add_argument("alias")
