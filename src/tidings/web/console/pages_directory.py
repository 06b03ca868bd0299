"""Users, groups and domains: lists, forms with validation messages, DNS records.

Every change goes through `AdminService.directory`, which checks the role and
writes the audit record; these handlers only translate forms and render pages.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from tidings.admin.dns import dns_records
from tidings.model.directory import PrincipalKind, Role
from tidings.model.errors import Conflict, InvalidInput
from tidings.web.console.framework import Console, View, field_errors

PAGE_SIZE = 25
ROLE_VALUES = frozenset(r.value for r in Role)
GROUP_KINDS = (PrincipalKind.GROUP, PrincipalKind.SHARED)


def _page_number(view: View) -> int:
    raw = view.request.query_params.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 7 else 1


def _quota(raw: str) -> tuple[int | None, bool]:
    """(bytes, clear): a number of MiB, or blank for no limit."""
    raw = raw.strip()
    if not raw:
        return None, True
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("the quota is a whole number of MiB, or blank", field="quota_mib")
    return int(raw) * 1024 * 1024, False


def _roles(view: View) -> list[str]:
    """Roles this admin may hand out (the service checks again)."""
    from tidings.admin.roles import GRANTABLE

    return [r.value for r in Role if r in GRANTABLE[view.actor.role]]


# --- users -----------------------------------------------------------------------------
async def users(view: View, console: Console) -> Response:
    query = view.request.query_params.get("q", "")[:200]
    number = _page_number(view)
    found, total = await console.service.directory.list_principals(
        view.actor, kind=PrincipalKind.USER, query=query or None,
        offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
    )  # fmt: skip
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return console.render(
        "users.html", view, users=found, q=query, page=number, pages=pages, total=total
    )


def _user_form(view: View, console: Console, *, status: int = 200, user: Any = None,
               values: dict[str, str] | None = None, errors: Any = None,
               notice: str = "") -> Response:  # fmt: skip
    return console.render(
        "user_form.html", view, status, user=user, values=values or {}, errors=errors or {},
        roles=_roles(view), notice=notice,
    )  # fmt: skip


async def user_new(view: View, console: Console) -> Response:
    return _user_form(view, console, values={"role": "user"})


async def user_create(view: View, console: Console) -> Response:
    form = view.form
    values = {k: form.get(k) for k in ("address", "display_name", "role", "quota_mib")}
    try:
        quota, _clear = _quota(form.get("quota_mib"))
        if form.get("password") != form.get("password2"):
            raise InvalidInput("the two passwords differ", field="password2")
        role = Role(form.get("role", "user")) if form.get("role") in ROLE_VALUES else None
        if role is None:
            raise InvalidInput("choose a role from the list", field="role")
        principal, generated = await console.service.directory.create_user(
            view.actor, form.get("address"), password=form.get("password") or None,
            display_name=form.get("display_name"), role=role, quota_bytes=quota,
        )  # fmt: skip
    except InvalidInput as exc:
        return _user_form(view, console, status=422, values=values,
                          errors=field_errors(exc, "address"))  # fmt: skip
    except Conflict as exc:
        return _user_form(view, console, status=409, values=values,
                          errors={"address": str(exc)})  # fmt: skip
    notice = f"Created {principal.name}."
    if generated:
        notice += f" Its generated password, shown only now: {generated}"
    return await _edit_page(view, console, principal.name, notice=notice, status=201)


async def _edit_page(view: View, console: Console, address: str, *, status: int = 200,
                     notice: str = "", errors: Any = None) -> Response:  # fmt: skip
    user = await console.service.directory.principal(view.actor, address)
    aliases = await console.service.directory.aliases(view.actor, user.name)
    quota = "" if user.quota_bytes is None else str(user.quota_bytes // (1024 * 1024))
    values = {"display_name": user.display_name, "role": user.role.value, "quota_mib": quota}
    return console.render(
        "user_form.html", view, status, user=user, values=values, errors=errors or {},
        roles=sorted({*_roles(view), user.role.value}), aliases=aliases, notice=notice,
    )  # fmt: skip


async def user_edit(view: View, console: Console) -> Response:
    return await _edit_page(view, console, view.request.path_params["address"])


async def user_update(view: View, console: Console) -> Response:
    address, form = view.request.path_params["address"], view.form
    current = await console.service.directory.principal(view.actor, address)
    try:
        quota, clear = _quota(form.get("quota_mib"))
        role = Role(form.get("role")) if form.get("role") in ROLE_VALUES else current.role
        name, enabled = form.get("display_name"), form.get("enabled") == "on"
        await console.service.directory.update(
            view.actor, address,
            display_name=name if name != current.display_name else None,
            enabled=enabled if enabled != current.enabled else None,
            role=role if role is not current.role else None,
            quota_bytes=quota,
            clear_quota=clear and current.quota_bytes is not None,
        )  # fmt: skip
    except InvalidInput as exc:
        return await _edit_page(view, console, address, status=422,
                                errors=field_errors(exc, "display_name"))  # fmt: skip
    return console.redirect(f"/users/{quote(current.name, safe='@+')}?saved=1")


async def user_password(view: View, console: Console) -> Response:
    address = view.request.path_params["address"]
    try:
        generated = await console.service.directory.reset_password(
            view.actor, address, view.form.get("password") or None
        )
    except InvalidInput as exc:
        return await _edit_page(view, console, address, status=422,
                                errors=field_errors(exc, "password"))  # fmt: skip
    notice = "Password changed."
    if generated:
        notice += f" The new password, shown only now: {generated}"
    return await _edit_page(view, console, address, notice=notice)


async def user_delete(view: View, console: Console) -> Response:
    await console.service.directory.delete(view.actor, view.request.path_params["address"])
    return console.redirect("/users?deleted=1")


# --- groups ----------------------------------------------------------------------------
async def groups(view: View, console: Console, *, status: int = 200,
                 errors: Any = None, values: Any = None) -> Response:  # fmt: skip
    found, total = await console.service.directory.list_principals(
        view.actor, kind=PrincipalKind.GROUP, limit=500
    )
    return console.render("groups.html", view, status, groups=found, total=total,
                          errors=errors or {}, values=values or {})  # fmt: skip


async def group_create(view: View, console: Console) -> Response:
    values = {"address": view.form.get("address"), "display_name": view.form.get("display_name")}
    try:
        group = await console.service.directory.create_principal(
            view.actor, PrincipalKind.GROUP, values["address"],
            display_name=values["display_name"],
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        return await groups(view, console, status=422, values=values,
                            errors=field_errors(exc, "address"))  # fmt: skip
    return console.redirect(f"/groups/{quote(group.name, safe='@+')}")


async def group_page(view: View, console: Console, *, status: int = 200,
                     errors: Any = None) -> Response:  # fmt: skip
    group = await console.service.directory.principal(
        view.actor, view.request.path_params["address"]
    )
    members = await console.service.directory.members(view.actor, group.name)
    return console.render("group.html", view, status, group=group, members=members,
                          errors=errors or {})  # fmt: skip


async def group_member_add(view: View, console: Console) -> Response:
    address = view.request.path_params["address"]
    try:
        await console.service.directory.add_member(view.actor, address, view.form.get("member"))
    except (InvalidInput, Conflict) as exc:
        return await group_page(view, console, status=422, errors={"member": str(exc)})
    return console.redirect(f"/groups/{quote(address, safe='@+')}")


async def group_member_remove(view: View, console: Console) -> Response:
    address = view.request.path_params["address"]
    await console.service.directory.remove_member(view.actor, address, view.form.get("member"))
    return console.redirect(f"/groups/{quote(address, safe='@+')}")


# --- domains ---------------------------------------------------------------------------
async def domains(view: View, console: Console, *, status: int = 200,
                  errors: Any = None, values: Any = None) -> Response:  # fmt: skip
    found = await console.service.directory.list_domains(view.actor)
    return console.render("domains.html", view, status, domains=found,
                          errors=errors or {}, values=values or {})  # fmt: skip


async def domain_create(view: View, console: Console) -> Response:
    name = view.form.get("name")
    try:
        domain = await console.service.directory.create_domain(view.actor, name)
    except (InvalidInput, Conflict) as exc:
        return await domains(view, console, status=422, values={"name": name},
                             errors={"name": str(exc)})  # fmt: skip
    return console.redirect(f"/domains/{quote(domain.name)}")


async def domain_page(view: View, console: Console) -> Response:
    domain = await console.service.directory.get_domain(
        view.actor, view.request.path_params["name"]
    )
    records = [asdict(r) for r in dns_records(domain.name, console.service.hostname)]
    return console.render("domain.html", view, domain=domain, records=records)


async def domain_delete(view: View, console: Console) -> Response:
    await console.service.directory.delete_domain(view.actor, view.request.path_params["name"])
    return console.redirect("/domains?deleted=1")
