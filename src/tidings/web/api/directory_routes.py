"""Admin API endpoints for domains, principals and their aliases, members,
app passwords, permissions, resource policies and domain-admin scopes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tidings.admin.directory import policy_as_json
from tidings.admin.dns import dns_records
from tidings.directory.admin import app_password_as_json, domain_as_json, principal_as_json
from tidings.model.directory import Permission, PrincipalKind, ResourcePolicy, Role
from tidings.model.ids import PrincipalId
from tidings.web.api.framework import APIError, Call, Endpoint, Field, Result, page, paging_fields

ROLES = tuple(r.value for r in Role)
KINDS = tuple(k.value for k in PrincipalKind)
PERMISSIONS = tuple(p.value for p in Permission)


def _address(call: Call) -> str:
    return call.path["address"]


# --- domains -----------------------------------------------------------------------
async def list_domains(call: Call) -> Result:
    domains = await call.service.directory.list_domains(call.actor)
    q = (call.query.get("q") or "").lower()
    rows = [domain_as_json(d) for d in domains if q in d.name]
    start, limit = call.query.get("offset", 0), call.query.get("limit", 100)
    return page(rows[start : start + limit], len(rows), call)


async def create_domain(call: Call) -> Result:
    domain = await call.service.directory.create_domain(call.actor, call.body["name"])
    return 201, domain_as_json(domain)


async def get_domain(call: Call) -> Result:
    domain = await call.service.directory.get_domain(call.actor, call.path["name"])
    return 200, domain_as_json(domain)


async def delete_domain(call: Call) -> Result:
    await call.service.directory.delete_domain(call.actor, call.path["name"])
    return 204, None


async def domain_dns(call: Call) -> Result:
    domain = await call.service.directory.get_domain(call.actor, call.path["name"])
    records = dns_records(domain.name, call.service.hostname)
    return 200, {"domain": domain.name, "records": [asdict(r) for r in records]}


# --- principals --------------------------------------------------------------------
async def list_principals(call: Call) -> Result:
    kind = call.query.get("kind")
    items, total = await call.service.directory.list_principals(
        call.actor,
        kind=PrincipalKind(kind) if kind else None,
        domain=call.query.get("domain"),
        query=call.query.get("q"),
        offset=call.query.get("offset", 0),
        limit=call.query.get("limit", 100),
    )
    return page([principal_as_json(p) for p in items], total, call)


async def create_user(call: Call) -> Result:
    body = call.body
    principal, generated = await call.service.directory.create_user(
        call.actor,
        body["address"],
        password=body.get("password"),
        display_name=body.get("display_name", ""),
        role=Role(body.get("role", "user")),
        quota_bytes=body.get("quota_bytes"),
    )
    view: dict[str, Any] = dict(principal_as_json(principal))
    if generated is not None:
        view["password"] = generated  # shown once; only its hash is stored
    return 201, view


async def create_principal(call: Call) -> Result:
    principal = await call.service.directory.create_principal(
        call.actor,
        PrincipalKind(call.body["kind"]),
        call.body["address"],
        display_name=call.body.get("display_name", ""),
    )
    return 201, principal_as_json(principal)


async def get_principal(call: Call) -> Result:
    service, actor = call.service.directory, call.actor
    principal = await service.principal(actor, _address(call))
    view: dict[str, Any] = dict(principal_as_json(principal))
    view["aliases"] = list(await service.aliases(actor, principal.name))
    if principal.kind is PrincipalKind.GROUP:
        view["members"] = [m.name for m in await service.members(actor, principal.name)]
    return 200, view


async def update_principal(call: Call) -> Result:
    body = call.body
    clear_quota = "quota_bytes" in body and body["quota_bytes"] is None
    principal = await call.service.directory.update(
        call.actor,
        _address(call),
        display_name=body.get("display_name"),
        enabled=body.get("enabled"),
        role=Role(body["role"]) if "role" in body else None,
        quota_bytes=body.get("quota_bytes"),
        clear_quota=clear_quota,
    )
    return 200, principal_as_json(principal)


async def delete_principal(call: Call) -> Result:
    await call.service.directory.delete(call.actor, _address(call))
    return 204, None


async def reset_password(call: Call) -> Result:
    generated = await call.service.directory.reset_password(
        call.actor, _address(call), call.body.get("password")
    )
    view: dict[str, Any] = {"address": _address(call).lower(), "password_changed": True}
    if generated is not None:
        view["password"] = generated
    return 200, view


# --- aliases, members, app passwords -----------------------------------------------
async def list_aliases(call: Call) -> Result:
    aliases = await call.service.directory.aliases(call.actor, _address(call))
    return page(list(aliases), len(aliases), call)


async def add_alias(call: Call) -> Result:
    alias = await call.service.directory.add_alias(call.actor, _address(call), call.body["alias"])
    return 201, {"alias": alias}


async def remove_alias(call: Call) -> Result:
    await call.service.directory.remove_alias(call.actor, _address(call), call.path["alias"])
    return 204, None


async def list_members(call: Call) -> Result:
    members = await call.service.directory.members(call.actor, _address(call))
    return page([principal_as_json(m) for m in members], len(members), call)


async def add_member(call: Call) -> Result:
    await call.service.directory.add_member(call.actor, _address(call), call.body["member"])
    return 201, {"member": call.body["member"].lower()}


async def remove_member(call: Call) -> Result:
    await call.service.directory.remove_member(call.actor, _address(call), call.path["member"])
    return 204, None


async def list_app_passwords(call: Call) -> Result:
    found = await call.service.directory.app_passwords(call.actor, _address(call))
    return page([app_password_as_json(a) for a in found], len(found), call)


async def add_app_password(call: Call) -> Result:
    created, secret = await call.service.directory.add_app_password(
        call.actor, _address(call), call.body["label"]
    )
    return 201, {**app_password_as_json(created), "password": secret}


async def remove_app_password(call: Call) -> Result:
    app_password_id = _int_path(call, "id")
    await call.service.directory.remove_app_password(call.actor, _address(call), app_password_id)
    return 204, None


def _int_path(call: Call, name: str) -> int:
    try:
        return int(call.path[name])
    except ValueError:
        raise APIError(404, "not_found", f"{name} must be a number") from None


# --- permissions, policies, scopes -------------------------------------------------
async def list_permissions(call: Call) -> Result:
    pairs = await call.service.directory.permissions(call.actor, _address(call))
    rows = [{"owner": owner, "permission": p.value} for owner, p in pairs]
    return page(rows, len(rows), call)


async def grant_permission(call: Call) -> Result:
    await call.service.directory.grant(
        call.actor, _address(call), call.body["grantee"], Permission(call.body["permission"])
    )
    return 201, {"owner": _address(call).lower(), **call.body}


async def revoke_permission(call: Call) -> Result:
    permission = call.path["permission"]
    if permission not in PERMISSIONS:
        raise APIError(404, "not_found", f"no permission called {permission}")
    await call.service.directory.grant(
        call.actor, _address(call), call.path["grantee"], Permission(permission), revoke=True
    )
    return 204, None


async def get_resource_policy(call: Call) -> Result:
    policy = await call.service.directory.resource_policy(call.actor, _address(call))
    return 200, _policy_json(policy)


async def set_resource_policy(call: Call) -> Result:
    body = call.body
    bookers: list[int] = []
    for address in body.get("bookers", []):
        if not isinstance(address, str):
            raise APIError(422, "invalid", "bookers is a list of addresses", "bookers")
        bookers.append(int((await call.service.directory.principal(call.actor, address)).id))
    policy = ResourcePolicy(
        auto_accept=body.get("auto_accept", True),
        allow_conflicts=body.get("allow_conflicts", False),
        capacity=body.get("capacity"),
        max_duration_minutes=body.get("max_duration_minutes"),
        booking_window_days=body.get("booking_window_days", 180),
        bookers=tuple(PrincipalId(b) for b in bookers),
    )
    await call.service.directory.set_resource_policy(call.actor, _address(call), policy)
    return 200, _policy_json(policy)


def _policy_json(policy: ResourcePolicy) -> dict[str, Any]:
    return policy_as_json(policy)


async def list_admin_domains(call: Call) -> Result:
    domains = await call.service.directory.admin_domains(call.actor, _address(call))
    return page(list(domains), len(domains), call)


async def add_admin_domain(call: Call) -> Result:
    await call.service.directory.set_admin_domain(call.actor, _address(call), call.body["domain"])
    return 201, {"domain": call.body["domain"].lower()}


async def remove_admin_domain(call: Call) -> Result:
    await call.service.directory.set_admin_domain(
        call.actor, _address(call), call.path["domain"], remove=True
    )
    return 204, None


P = "/v1/principals/{address}"
_PAGING = paging_fields()
_LIST = {"type": "object", "required": ["items", "total", "offset", "limit"]}
_POLICY_FIELDS = (
    Field("auto_accept", "boolean"),
    Field("allow_conflicts", "boolean"),
    Field("capacity", "integer", nullable=True, minimum=1),
    Field("max_duration_minutes", "integer", nullable=True, minimum=1),
    Field("booking_window_days", "integer", nullable=True, minimum=1),
    Field("bookers", "array", description="addresses that may book; empty: everyone"),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/domains", list_domains, "List domains", "domains",
             query=(Field("q", description="name contains"), *_PAGING), response=_LIST),
    Endpoint("POST", "/v1/domains", create_domain, "Add a domain", "domains",
             body=(Field("name", required=True, description="e.g. example.org"),), status=201),
    Endpoint("GET", "/v1/domains/{name}", get_domain, "Show a domain", "domains"),
    Endpoint("DELETE", "/v1/domains/{name}", delete_domain, "Remove an empty domain", "domains",
             status=204),
    Endpoint("GET", "/v1/domains/{name}/dns", domain_dns, "DNS records to publish", "domains"),
    Endpoint("GET", "/v1/principals", list_principals, "List principals", "principals",
             query=(Field("q", description="address or name contains"),
                    Field("domain"), Field("kind", enum=KINDS), *_PAGING), response=_LIST),
    Endpoint("POST", "/v1/users", create_user, "Create a user", "principals", status=201,
             body=(Field("address", required=True), Field("password"),
                   Field("display_name"), Field("role", enum=ROLES),
                   Field("quota_bytes", "integer", minimum=0, nullable=True))),
    Endpoint("POST", "/v1/principals", create_principal,
             "Create a group, shared mailbox or resource", "principals", status=201,
             body=(Field("kind", required=True, enum=("group", "shared", "room", "equipment")),
                   Field("address", required=True), Field("display_name"))),
    Endpoint("GET", P, get_principal, "Show a principal with aliases and members", "principals"),
    Endpoint("PATCH", P, update_principal, "Edit, enable/disable, set role or quota",
             "principals",
             body=(Field("display_name"), Field("enabled", "boolean"), Field("role", enum=ROLES),
                   Field("quota_bytes", "integer", minimum=0, nullable=True,
                         description="null removes the limit"))),
    Endpoint("DELETE", P, delete_principal, "Remove a principal and its data", "principals",
             status=204),
    Endpoint("POST", P + "/password", reset_password, "Reset the password", "principals",
             body=(Field("password", description="omit to generate one"),)),
    Endpoint("GET", P + "/aliases", list_aliases, "List aliases", "aliases",
             query=_PAGING, response=_LIST),
    Endpoint("POST", P + "/aliases", add_alias, "Add an alias", "aliases", status=201,
             body=(Field("alias", required=True),)),
    Endpoint("DELETE", P + "/aliases/{alias}", remove_alias, "Remove an alias", "aliases",
             status=204),
    Endpoint("GET", P + "/members", list_members, "List group members", "groups",
             query=_PAGING, response=_LIST),
    Endpoint("POST", P + "/members", add_member, "Add a group member", "groups", status=201,
             body=(Field("member", required=True),)),
    Endpoint("DELETE", P + "/members/{member}", remove_member, "Remove a group member",
             "groups", status=204),
    Endpoint("GET", P + "/app-passwords", list_app_passwords, "List app passwords",
             "app-passwords", query=_PAGING, response=_LIST),
    Endpoint("POST", P + "/app-passwords", add_app_password, "Create an app password",
             "app-passwords", status=201, body=(Field("label", required=True),)),
    Endpoint("DELETE", P + "/app-passwords/{id}", remove_app_password,
             "Delete an app password", "app-passwords", status=204),
    Endpoint("GET", P + "/permissions", list_permissions,
             "Permissions granted to this principal", "permissions",
             query=_PAGING, response=_LIST),
    Endpoint("POST", P + "/permissions", grant_permission,
             "Grant a principal a permission over this one (e.g. a shared mailbox)",
             "permissions", status=201,
             body=(Field("grantee", required=True),
                   Field("permission", required=True, enum=PERMISSIONS))),
    Endpoint("DELETE", P + "/permissions/{grantee}/{permission}", revoke_permission,
             "Revoke a permission", "permissions", status=204),
    Endpoint("GET", P + "/resource-policy", get_resource_policy, "A resource's booking policy",
             "resources"),
    Endpoint("PUT", P + "/resource-policy", set_resource_policy,
             "Set a resource's booking policy", "resources", body=_POLICY_FIELDS),
    Endpoint("GET", P + "/admin-domains", list_admin_domains,
             "Extra domains a domain admin administers", "roles",
             query=_PAGING, response=_LIST),
    Endpoint("POST", P + "/admin-domains", add_admin_domain,
             "Let a domain admin administer a domain", "roles", status=201,
             body=(Field("domain", required=True),)),
    Endpoint("DELETE", P + "/admin-domains/{domain}", remove_admin_domain,
             "Remove a domain from a domain admin", "roles", status=204),
)  # fmt: skip
