"""What each admin subcommand sends with `--url`: one small coroutine per command
over the admin API (see `tidings.cli.remote`), keyed by the subcommand's words.

The results are the API's JSON; lists are unpaged (every item, or --offset/--limit).
"""

from __future__ import annotations

import argparse
from typing import Any

from tidings.admin.dns import DNSRecord
from tidings.cli.common import EXIT_USAGE, CLIError, read_password
from tidings.cli.principals import EDITABLE, zone_line
from tidings.cli.remote import Remote, RemoteAction, part
from tidings.cli.resources import policy_changes

P = "/v1/principals/"


def _principals(items: list[Any], args: argparse.Namespace) -> object:
    if args.json:
        return items
    keys = ("address", "kind", "display_name", "role", "enabled")
    return [{k: p[k] for k in keys} for p in items]


# --- domains -------------------------------------------------------------------------
async def domain_add(r: Remote, a: argparse.Namespace) -> object:
    return await r.call("POST", "/v1/domains", body={"name": a.name})


async def domain_list(r: Remote, a: argparse.Namespace) -> object:
    return await r.items("/v1/domains")


async def domain_show(r: Remote, a: argparse.Namespace) -> object:
    return await r.call("GET", f"/v1/domains/{part(a.name)}")


async def domain_remove(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", f"/v1/domains/{part(a.name)}")
    return {"removed": a.name.lower()}


async def domain_dns(r: Remote, a: argparse.Namespace) -> object:
    shown = await r.call("GET", f"/v1/domains/{part(a.name)}/dns")
    if a.json:
        return shown
    records = [DNSRecord(**record) for record in shown["records"]]
    if a.zone:
        return "\n".join(zone_line(record) for record in records)
    return [{"name": x.name, "type": x.type, "value": x.value, "purpose": x.purpose}
            for x in records]  # fmt: skip


# --- principals ----------------------------------------------------------------------
async def principal_list(r: Remote, a: argparse.Namespace) -> object:
    kinds = [a.kind] if getattr(a, "kind", None) else list(a.kinds)
    query = {"domain": a.domain, "q": a.query}
    if len(kinds) == len(_ALL):  # `principal list`: every kind in one listing
        items = await r.items("/v1/principals", query, offset=a.offset, limit=a.limit)
    else:  # one kind, or rooms and equipment in two listings
        items = []
        for kind in sorted(kinds):
            items += await r.items("/v1/principals", {**query, "kind": kind},
                                   offset=a.offset, limit=a.limit)  # fmt: skip
    return _principals(items, a)


async def principal_show(r: Remote, a: argparse.Namespace) -> Any:
    shown = await r.call("GET", P + part(a.address))
    if shown["kind"] not in a.kinds:
        raise CLIError(f"{shown['address']} is a {shown['kind']}, not a "
                       f"{' or '.join(sorted(a.kinds))}", EXIT_USAGE)  # fmt: skip
    return shown


async def principal_remove(r: Remote, a: argparse.Namespace) -> object:
    shown = await principal_show(r, a)
    await r.call("DELETE", P + part(shown["address"]))
    return {"removed": shown["address"]}


async def principal_add(r: Remote, a: argparse.Namespace) -> object:
    kind = getattr(a, "kind", None) or a.kinds[0]
    body = {"kind": kind, "address": a.address, "display_name": a.display_name}
    return await r.call("POST", "/v1/principals", body=body)


async def user_add(r: Remote, a: argparse.Namespace) -> object:
    body: dict[str, object] = {"address": a.address, "display_name": a.display_name,
                               "role": a.role, "quota_bytes": a.quota}  # fmt: skip
    password = read_password(a)
    if password is not None:
        body["password"] = password
    return await r.call("POST", "/v1/users", body=body)


async def user_passwd(r: Remote, a: argparse.Namespace) -> object:
    password = read_password(a)
    body = {"password": password} if password is not None else {}
    return await r.call("POST", P + part(a.address) + "/password", body=body)


async def principal_edit(r: Remote, a: argparse.Namespace) -> object:
    body: dict[str, object] = {}
    for key, value in (("display_name", a.display_name), ("enabled", a.enabled),
                       ("role", getattr(a, "role", None)),
                       ("quota_bytes", getattr(a, "quota", None))):  # fmt: skip
        if value is not None:
            body[key] = value
    if getattr(a, "no_quota", False):
        body["quota_bytes"] = None
    if not body:
        raise CLIError("nothing to change: give at least one option (see --help)", EXIT_USAGE)
    shown = await r.call("GET", P + part(a.address))
    kinds = sorted(k.value for k in a.edit_kinds)
    if shown["kind"] not in kinds:
        raise CLIError(f"{shown['address']} is a {shown['kind']}, not a {' or '.join(kinds)}",
                       EXIT_USAGE)  # fmt: skip
    return await r.call("PATCH", P + part(shown["address"]), body=body)


async def group_members(r: Remote, a: argparse.Namespace) -> object:
    path = P + part(a.address) + "/members"
    for member in a.add or ():
        await r.call("POST", path, body={"member": member})
    for member in a.remove or ():
        await r.call("DELETE", f"{path}/{part(member)}")
    return _principals(await r.items(path), a)


# --- aliases, app passwords, permissions, scopes --------------------------------------
async def alias_add(r: Remote, a: argparse.Namespace) -> object:
    await r.call("POST", P + part(a.target) + "/aliases", body={"alias": a.alias})
    return {"alias": a.alias.lower(), "target": a.target.lower()}


async def alias_list(r: Remote, a: argparse.Namespace) -> object:
    aliases = await r.items(P + part(a.address) + "/aliases")
    return aliases if a.json else [{"alias": x} for x in aliases]


async def alias_remove(r: Remote, a: argparse.Namespace) -> object:
    target = await r.call("GET", P + part(a.alias))  # found by its alias
    await r.call("DELETE", P + part(target["address"]) + "/aliases/" + part(a.alias))
    return {"removed": a.alias.lower()}


async def app_password_add(r: Remote, a: argparse.Namespace) -> object:
    created = await r.call("POST", P + part(a.address) + "/app-passwords",
                           body={"label": a.label})  # fmt: skip
    return {**created, "address": a.address.lower()}


async def app_password_list(r: Remote, a: argparse.Namespace) -> object:
    rows = await r.items(P + part(a.address) + "/app-passwords")
    return rows if rows or a.json else "no app passwords"


async def app_password_remove(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", P + part(a.address) + f"/app-passwords/{a.id}")
    return {"address": a.address.lower(), "removed": a.id}


async def permission_grant(r: Remote, a: argparse.Namespace) -> object:
    body = {"grantee": a.grantee, "permission": a.permission}
    await r.call("POST", P + part(a.owner) + "/permissions", body=body)
    return {"owner": a.owner.lower(), "grantee": a.grantee.lower(),
            "permission": a.permission, "granted": True}  # fmt: skip


async def permission_revoke(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", P + part(a.owner) + f"/permissions/{part(a.grantee)}/{a.permission}")
    return {"owner": a.owner.lower(), "grantee": a.grantee.lower(),
            "permission": a.permission, "granted": False}  # fmt: skip


async def permission_list(r: Remote, a: argparse.Namespace) -> object:
    rows = await r.items(P + part(a.grantee) + "/permissions")
    return rows if rows or a.json else "no permissions granted"


async def admin_domain_add(r: Remote, a: argparse.Namespace) -> object:
    await r.call("POST", P + part(a.admin) + "/admin-domains", body={"domain": a.domain})
    return {"admin": a.admin.lower(), "domain": a.domain.lower(), "added": True}


async def admin_domain_remove(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", P + part(a.admin) + "/admin-domains/" + part(a.domain))
    return {"admin": a.admin.lower(), "domain": a.domain.lower(), "added": False}


async def admin_domain_list(r: Remote, a: argparse.Namespace) -> object:
    domains = await r.items(P + part(a.admin) + "/admin-domains")
    if a.json:
        return domains
    return [{"domain": d} for d in domains] or "no extra domains (only its own)"


# --- resource policies ---------------------------------------------------------------
async def _addresses(r: Remote, ids: list[int]) -> dict[int, str]:
    """Principal ids to addresses (the policy names bookers by id)."""
    if not ids:
        return {}
    return {p["id"]: p["address"] for p in await r.items("/v1/principals")}


async def policy_show(r: Remote, a: argparse.Namespace) -> object:
    policy = await r.call("GET", P + part(a.address) + "/resource-policy")
    names = await _addresses(r, policy["bookers"])
    return {"address": a.address.lower(), **policy,
            "booker_addresses": [names.get(b, f"#{b}") for b in policy["bookers"]]}


async def policy_set(r: Remote, a: argparse.Namespace) -> object:
    """The API's PUT replaces the policy, so send the current one with the changes."""
    changes = policy_changes(a)
    if not changes and a.bookers is None and not a.everyone:
        raise CLIError("nothing to change: give at least one option (see --help)", EXIT_USAGE)
    path = P + part(a.address) + "/resource-policy"
    current = await r.call("GET", path)
    names = await _addresses(r, current["bookers"])
    bookers = [names[b] for b in current["bookers"] if b in names]
    if a.everyone:
        bookers = []
    elif a.bookers is not None:
        bookers = list(a.bookers)
    body = {**current, **changes, "bookers": bookers}
    await r.call("PUT", path, body=body)
    return await policy_show(r, a)


# --- operations ----------------------------------------------------------------------
async def status(r: Remote, a: argparse.Namespace) -> object:
    figures: dict[str, Any] = await r.call("GET", "/v1/status")
    if not a.json:
        figures.pop("stored_per_hour", None)
    return figures


async def queue_list(r: Remote, a: argparse.Namespace) -> object:
    rows = await r.items("/v1/queue")
    return rows if rows or a.json else "the queue is empty"


async def queue_show(r: Remote, a: argparse.Namespace) -> object:
    return await r.call("GET", f"/v1/queue/{a.id}")


async def queue_retry(r: Remote, a: argparse.Namespace) -> object:
    for queue_id in a.ids:
        await r.call("POST", f"/v1/queue/{queue_id}/retry")
    return {"retried": list(a.ids)}


async def queue_delete(r: Remote, a: argparse.Namespace) -> object:
    for queue_id in a.ids:
        await r.call("DELETE", f"/v1/queue/{queue_id}")
    return {"deleted": list(a.ids)}


async def token_create(r: Remote, a: argparse.Namespace) -> object:
    body = {"name": a.name, "principal": a.principal, "role": a.role}
    made = await r.call("POST", "/v1/tokens", body={k: v for k, v in body.items() if v})
    return {"id": made["id"], "role": made["role"], "token": made["token"]}


async def token_list(r: Remote, a: argparse.Namespace) -> object:
    return await r.items("/v1/tokens")


async def token_revoke(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", f"/v1/tokens/{a.id}")
    return {"revoked": a.id}


async def audit_list(r: Remote, a: argparse.Namespace) -> object:
    query = {"action": a.action_filter, "actor": a.actor, "object_type": a.object_type,
             "object_id": a.object_id,
             "since": a.since.isoformat() if a.since else None,
             "until": a.until.isoformat() if a.until else None}  # fmt: skip
    records = await r.items("/v1/audit", query, offset=a.offset, limit=a.limit)
    if a.json:
        return records
    return [{"id": x["id"], "at": x["at"], "actor": x["actor"], "action": x["action"],
             "object": x["object_id"]} for x in records]  # fmt: skip


async def audit_verify(r: Remote, a: argparse.Namespace) -> object:
    result = await r.call("GET", "/v1/audit/verify")
    if not result["valid"]:
        raise CLIError(f"audit record {result['first_bad_id']} does not match the hash chain")
    return result


# --- quarantine and spam -------------------------------------------------------------
async def quarantine_list(r: Remote, a: argparse.Namespace) -> object:
    rows = await r.items("/v1/quarantine", {"status": a.status})
    return rows if rows or a.json else "the quarantine is empty"


async def quarantine_show(r: Remote, a: argparse.Namespace) -> object:
    return await r.call("GET", f"/v1/quarantine/{a.id}")


async def quarantine_release(r: Remote, a: argparse.Namespace) -> object:
    released = []
    for entry_id in a.ids:
        done = await r.call("POST", f"/v1/quarantine/{entry_id}/release")
        released.append({"id": entry_id, "delivered": done["delivered"]})
    return {"released": released}


async def quarantine_delete(r: Remote, a: argparse.Namespace) -> object:
    for entry_id in a.ids:
        await r.call("DELETE", f"/v1/quarantine/{entry_id}")
    return {"deleted": list(a.ids)}


async def senders_list(r: Remote, a: argparse.Namespace) -> object:
    rows = await r.items(P + part(a.user) + "/senders")
    return rows if rows or a.json else "no safe or blocked senders"


async def senders_add(r: Remote, a: argparse.Namespace) -> object:
    entry = await r.call("POST", P + part(a.user) + "/senders",
                         body={"pattern": a.pattern, "kind": a.kind})  # fmt: skip
    return {"user": a.user, "pattern": entry["pattern"], "kind": entry["kind"]}


async def senders_remove(r: Remote, a: argparse.Namespace) -> object:
    await r.call("DELETE", P + part(a.user) + "/senders/" + part(a.pattern))
    return {"user": a.user, "removed": a.pattern}


async def rules_list(r: Remote, a: argparse.Namespace) -> object:
    return await r.items("/v1/spam/rules")


async def rules_set(r: Remote, a: argparse.Namespace) -> object:
    weight = None if a.weight == "default" else _number(a.weight)
    return await r.call("PUT", f"/v1/spam/rules/{part(a.name)}", body={"weight": weight})


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CLIError(f"expected a number or 'default', got {text!r}") from None


async def spam_stats(r: Remote, a: argparse.Namespace) -> object:
    return await r.call("GET", "/v1/spam/stats", query={"principal": a.user})


_ALL = ["user", "group", "shared", "room", "equipment"]
_PRINCIPALS = ("principal", "user", "group", "shared", "resource")
REMOTE: dict[str, RemoteAction] = {
    "domain add": domain_add, "domain list": domain_list, "domain show": domain_show,
    "domain remove": domain_remove, "domain dns": domain_dns,
    **{f"{noun} list": principal_list for noun in _PRINCIPALS},
    **{f"{noun} show": principal_show for noun in _PRINCIPALS},
    **{f"{noun} remove": principal_remove for noun in _PRINCIPALS[1:]},
    **{f"{noun} add": principal_add for noun in ("group", "shared", "resource")},
    **{f"{noun} edit": principal_edit for noun in EDITABLE},
    "user add": user_add, "user passwd": user_passwd, "group members": group_members,
    "user app-password add": app_password_add, "user app-password list": app_password_list,
    "user app-password remove": app_password_remove,
    "alias add": alias_add, "alias list": alias_list, "alias remove": alias_remove,
    "permission grant": permission_grant, "permission revoke": permission_revoke,
    "permission list": permission_list,
    "admin-domain add": admin_domain_add, "admin-domain list": admin_domain_list,
    "admin-domain remove": admin_domain_remove,
    "resource policy show": policy_show, "resource policy set": policy_set,
    "status": status,
    "queue list": queue_list, "queue show": queue_show, "queue retry": queue_retry,
    "queue delete": queue_delete,
    "token create": token_create, "token list": token_list, "token revoke": token_revoke,
    "audit list": audit_list, "audit verify": audit_verify,
    "quarantine list": quarantine_list, "quarantine show": quarantine_show,
    "quarantine release": quarantine_release, "quarantine delete": quarantine_delete,
    "spam senders list": senders_list, "spam senders add": senders_add,
    "spam senders remove": senders_remove,
    "spam rules list": rules_list, "spam rules set": rules_set, "spam stats": spam_stats,
}  # fmt: skip
