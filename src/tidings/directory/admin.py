"""Directory administration shared by the CLI and the admin REST API.

Takes addresses as people type them, validates and normalises them
(`tidings.directory.addresses`), hashes passwords, and calls `DirectoryService`.
Raises the model errors: InvalidInput (with `field`), NotFound, Conflict.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from tidings.directory.addresses import normalize_address, normalize_domain
from tidings.directory.passwords import PasswordHasher, generate_password, password_secrets
from tidings.directory.scram import DEFAULT_ITERATIONS
from tidings.model.directory import (
    AppPassword,
    Domain,
    Permission,
    Principal,
    PrincipalKind,
    Role,
)
from tidings.model.errors import InvalidInput

if TYPE_CHECKING:
    # Annotations only: importing the store package at run time would pull in its backends.
    from tidings.store.services import DirectoryService

log = logging.getLogger(__name__)

MAX_PASSWORD_CHARS = 1024
MAX_LABEL_CHARS = 100
MAX_DISPLAY_NAME_CHARS = 256


def check_password(password: str) -> str:
    """A password an admin chose. Raises InvalidInput(field="password")."""
    if not password:
        raise InvalidInput("the password is empty", field="password")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"passwords are limited to {MAX_PASSWORD_CHARS} characters", field="password"
        )
    # SASL PLAIN cannot carry a NUL, and control characters cannot be typed reliably.
    if any(ch < " " or ch == "\x7f" for ch in password):
        raise InvalidInput("the password holds a control character", field="password")
    if not _is_utf8_encodable(password):
        raise InvalidInput("the password is not valid Unicode text", field="password")
    return password


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_display_name(display_name: str) -> str:
    """A display name without line breaks. Raises InvalidInput(field="display_name")."""
    text = display_name.strip()
    if len(text) > MAX_DISPLAY_NAME_CHARS or any(ch < " " for ch in text):
        raise InvalidInput(
            "display names are one line of at most 256 characters", field="display_name"
        )
    return text


class DirectoryAdmin:
    """The admin operations on domains, principals, aliases, groups and permissions."""

    def __init__(
        self,
        directory: DirectoryService,
        hasher: PasswordHasher | None = None,
        *,
        scram_iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        self.directory = directory
        self.hasher = hasher or PasswordHasher()
        self.scram_iterations = scram_iterations

    # --- domains ---------------------------------------------------------------------
    async def add_domain(self, name: str) -> Domain:
        """Raises InvalidInput(field="domain"), Conflict."""
        domain = await self.directory.create_domain(normalize_domain(name))
        log.info("directory.domain_added domain=%s", domain.name)
        return domain

    async def list_domains(self) -> Sequence[Domain]:
        return await self.directory.list_domains()

    async def show_domain(self, name: str) -> Domain:
        """Raises NotFound."""
        return await self.directory.get_domain(normalize_domain(name))

    async def remove_domain(self, name: str) -> None:
        """Raises NotFound; Conflict while principals remain in it."""
        domain = normalize_domain(name)
        await self.directory.delete_domain(domain)
        log.info("directory.domain_removed domain=%s", domain)

    async def set_catch_all(self, domain: str, target_address: str | None) -> Domain:
        """Mail to unknown addresses of `domain` goes to the target (None: rejected)."""
        target = None
        if target_address is not None:
            target = (await self.show(target_address)).id
        return await self.directory.set_catch_all(normalize_domain(domain), target)

    # --- principals ------------------------------------------------------------------
    async def add_user(
        self,
        address: str,
        *,
        password: str | None = None,
        display_name: str = "",
        role: Role = Role.USER,
        quota_bytes: int | None = None,
    ) -> tuple[Principal, str | None]:
        """Create a user; returns it and the generated password if none was given."""
        canonical = normalize_address(address)
        generated = generate_password() if password is None else None
        chosen = check_password(password) if password is not None else generated
        assert chosen is not None
        if quota_bytes is not None and quota_bytes < 0:
            raise InvalidInput("quota must not be negative", field="quota_bytes")
        password_hash, scram = await password_secrets(
            self.hasher, chosen, scram_iterations=self.scram_iterations
        )
        principal = await self.directory.create_principal(
            PrincipalKind.USER,
            canonical,
            display_name=check_display_name(display_name),
            password_hash=password_hash,
            scram_sha256=scram,
            role=role,
            quota_bytes=quota_bytes,
        )
        log.info("directory.user_added address=%s role=%s", principal.name, role.value)
        return principal, generated

    async def add_principal(
        self, kind: PrincipalKind, address: str, *, display_name: str = ""
    ) -> Principal:
        """Create a group, shared mailbox, room or equipment (no password).

        A USER made here cannot log in until `set_password`.
        """
        principal = await self.directory.create_principal(
            kind, normalize_address(address), display_name=check_display_name(display_name)
        )
        log.info("directory.principal_added address=%s kind=%s", principal.name, kind.value)
        return principal

    async def set_password(self, address: str, password: str | None = None) -> str | None:
        """Set the main password; returns the generated one if `password` is None."""
        principal = await self.show(address)
        if principal.kind is PrincipalKind.GROUP:
            raise InvalidInput("a group cannot log in, so it has no password", field="address")
        generated = generate_password() if password is None else None
        chosen = check_password(password) if password is not None else generated
        assert chosen is not None
        password_hash, scram = await password_secrets(
            self.hasher, chosen, scram_iterations=self.scram_iterations
        )
        await self.directory.set_password(principal.id, password_hash, scram)
        log.info("directory.password_set address=%s", principal.name)
        return generated

    async def list_principals(
        self,
        *,
        kind: PrincipalKind | None = None,
        domain: str | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> Sequence[Principal]:
        if offset < 0 or limit < 1:
            raise InvalidInput("offset must be >= 0 and limit >= 1", field="limit")
        return await self.directory.list_principals(
            domain=normalize_domain(domain) if domain is not None else None,
            kind=kind,
            query=query,
            offset=offset,
            limit=limit,
        )

    async def show(self, address: str) -> Principal:
        """By primary address or alias. Raises InvalidInput, NotFound."""
        return await self.directory.find_principal(normalize_address(address))

    async def update(
        self,
        address: str,
        *,
        display_name: str | None = None,
        enabled: bool | None = None,
        role: Role | None = None,
        quota_bytes: int | None = None,
        clear_quota: bool = False,
    ) -> Principal:
        """Change the given attributes; `clear_quota` removes the quota limit."""
        principal = await self.show(address)
        if quota_bytes is not None and quota_bytes < 0:
            raise InvalidInput("quota must not be negative", field="quota_bytes")
        updated = await self.directory.update_principal(
            principal.id,
            display_name=check_display_name(display_name) if display_name is not None else None,
            enabled=enabled,
            role=role,
            quota_bytes=quota_bytes,
            clear_quota=clear_quota,
        )
        log.info("directory.principal_updated address=%s", updated.name)
        return updated

    async def remove(self, address: str) -> None:
        """Remove the principal and all its data. Raises NotFound."""
        principal = await self.show(address)
        await self.directory.delete_principal(principal.id)
        log.info(
            "directory.principal_removed address=%s kind=%s", principal.name, principal.kind.value
        )

    # --- groups ----------------------------------------------------------------------
    async def add_member(self, group_address: str, member_address: str) -> None:
        group = await self._group(group_address)
        member = await self.directory.find_principal(
            normalize_address(member_address, field="member")
        )
        await self.directory.add_member(group.id, member.id)
        log.info("directory.member_added group=%s member=%s", group.name, member.name)

    async def remove_member(self, group_address: str, member_address: str) -> None:
        group = await self._group(group_address)
        member = await self.directory.find_principal(
            normalize_address(member_address, field="member")
        )
        await self.directory.remove_member(group.id, member.id)
        log.info("directory.member_removed group=%s member=%s", group.name, member.name)

    async def members(self, group_address: str) -> Sequence[Principal]:
        """Direct members of the group."""
        return await self.directory.list_members((await self._group(group_address)).id)

    async def _group(self, address: str) -> Principal:
        principal = await self.directory.find_principal(normalize_address(address, field="group"))
        if principal.kind is not PrincipalKind.GROUP:
            raise InvalidInput(f"{principal.name} is not a group", field="group")
        return principal

    # --- aliases ---------------------------------------------------------------------
    async def add_alias(self, alias_address: str, target_address: str) -> None:
        """Raises Conflict if the alias is taken, NotFound if target or domain is unknown."""
        alias = normalize_address(alias_address, field="alias")
        target = await self.directory.find_principal(
            normalize_address(target_address, field="target")
        )
        await self.directory.add_alias(target.id, alias)
        log.info("directory.alias_added alias=%s target=%s", alias, target.name)

    async def remove_alias(self, alias_address: str) -> None:
        alias = normalize_address(alias_address, field="alias")
        await self.directory.remove_alias(alias)
        log.info("directory.alias_removed alias=%s", alias)

    async def aliases(self, address: str) -> Sequence[str]:
        return await self.directory.list_aliases((await self.show(address)).id)

    # --- app passwords ---------------------------------------------------------------
    async def add_app_password(self, address: str, label: str) -> tuple[AppPassword, str]:
        """A new app password for a device; the plain text is returned only now."""
        label = label.strip()
        if not label or len(label) > MAX_LABEL_CHARS or any(ch < " " for ch in label):
            raise InvalidInput("a label is one line of 1 to 100 characters", field="label")
        principal = await self.show(address)
        if principal.kind is PrincipalKind.GROUP:
            raise InvalidInput("a group cannot log in", field="address")
        secret = generate_password()
        app_password = await self.directory.add_app_password(
            principal.id, label, await self.hasher.hash(secret)
        )
        log.info("directory.app_password_added address=%s id=%s", principal.name, app_password.id)
        return app_password, secret

    async def list_app_passwords(self, address: str) -> Sequence[AppPassword]:
        return await self.directory.list_app_passwords((await self.show(address)).id)

    async def remove_app_password(self, address: str, app_password_id: int) -> None:
        principal = await self.show(address)
        await self.directory.delete_app_password(principal.id, app_password_id)
        log.info("directory.app_password_removed address=%s id=%s", principal.name, app_password_id)

    # --- permissions -----------------------------------------------------------------
    async def grant(self, owner_address: str, grantee_address: str, permission: Permission) -> None:
        owner, grantee = await self._pair(owner_address, grantee_address)
        await self.directory.grant(owner.id, grantee.id, permission)
        log.info(
            "directory.granted owner=%s grantee=%s permission=%s",
            owner.name,
            grantee.name,
            permission.value,
        )

    async def revoke(
        self, owner_address: str, grantee_address: str, permission: Permission
    ) -> None:
        owner, grantee = await self._pair(owner_address, grantee_address)
        await self.directory.revoke(owner.id, grantee.id, permission)
        log.info(
            "directory.revoked owner=%s grantee=%s permission=%s",
            owner.name,
            grantee.name,
            permission.value,
        )

    async def _pair(self, owner_address: str, grantee_address: str) -> tuple[Principal, Principal]:
        owner = await self.directory.find_principal(normalize_address(owner_address, field="owner"))
        grantee = await self.directory.find_principal(
            normalize_address(grantee_address, field="grantee")
        )
        return owner, grantee


# --- JSON views (for --json and the REST API) -------------------------------------------
JSONValue = str | int | float | bool | None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def principal_as_json(principal: Principal) -> dict[str, JSONValue]:
    """A principal as plain JSON values (no secrets: principals carry none)."""
    return {
        "id": principal.id,
        "kind": principal.kind.value,
        "address": principal.name,
        "domain": principal.domain,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "enabled": principal.enabled,
        "quota_bytes": principal.quota_bytes,
        "per_user_seen": principal.per_user_seen,
        "created_at": _iso(principal.created_at),
    }


def domain_as_json(domain: Domain) -> dict[str, JSONValue]:
    return {
        "id": domain.id,
        "name": domain.name,
        "catch_all": domain.catch_all,
        "created_at": _iso(domain.created_at),
    }


def app_password_as_json(app_password: AppPassword) -> dict[str, JSONValue]:
    """An app password's metadata; the secret itself is never stored in clear."""
    return {
        "id": app_password.id,
        "label": app_password.label,
        "created_at": _iso(app_password.created_at),
        "last_used_at": _iso(app_password.last_used_at),
    }
