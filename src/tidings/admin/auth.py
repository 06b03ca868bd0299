"""Who is calling the admin API: an API token or a principal's password, as an `Actor`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.admin.operations import TOKEN_PREFIX, hash_token
from tidings.admin.roles import GRANTABLE, Actor
from tidings.model.directory import Principal, Role
from tidings.model.errors import AuthenticationFailed, NotFound

if TYPE_CHECKING:
    from tidings.directory.auth import Authenticator
    from tidings.store.services import AdminAccessService, DirectoryService

log = logging.getLogger(__name__)


class AdminAuth:
    """Turns credentials into actors; failures raise AuthenticationFailed."""

    def __init__(
        self,
        directory: DirectoryService,
        access: AdminAccessService,
        authenticator: Authenticator,
    ) -> None:
        self.directory = directory
        self.access = access
        self.authenticator = authenticator

    async def actor(
        self, principal: Principal, *, role: Role, name: str, remote_ip: str | None, via: str
    ) -> Actor:
        domains: frozenset[str] = frozenset()
        if role is Role.DOMAIN_ADMIN:
            extra = await self.access.admin_domains(principal.id)
            domains = frozenset({principal.domain, *extra})
        return Actor(name, role, principal, domains, remote_ip, via)

    async def from_token(self, token: str, remote_ip: str | None, via: str = "api") -> Actor:
        """The actor a bearer token stands for."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise AuthenticationFailed("not a Tidings API token")
        try:
            record = await self.access.find_token(hash_token(token))
            principal = await self.directory.get_principal(record.principal_id)
        except NotFound:
            log.info("admin.token_rejected ip=%s", remote_ip)
            raise AuthenticationFailed("unknown or revoked API token") from None
        # The owner may have been disabled or demoted since the token was made.
        allowed = record.role is principal.role or record.role in GRANTABLE[principal.role]
        if not principal.enabled or not allowed:
            log.info("admin.token_rejected ip=%s token=%d reason=owner", remote_ip, record.id)
            raise AuthenticationFailed("the token's owner may no longer use it")
        await self.access.touch_token(record.id)
        return await self.actor(
            principal,
            role=record.role,
            name=f"token:{record.id}:{principal.name}",
            remote_ip=remote_ip,
            via=via,
        )

    async def from_password(
        self, login: str, password: str, remote_ip: str, via: str = "api"
    ) -> Actor:
        """The actor for a principal's own password (throttled like every login)."""
        principal = await self.authenticator.authenticate(login, password, remote_ip)
        return await self.actor(
            principal, role=principal.role, name=principal.name, remote_ip=remote_ip, via=via
        )


def local_operator(user: str) -> Actor:
    """The person at the server's shell: whoever can read its config is a global admin."""
    return Actor(f"cli:{user}", Role.GLOBAL_ADMIN, None, frozenset(), None, "cli")
