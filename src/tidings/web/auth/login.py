"""Console login: password (throttled by the Authenticator) plus a TOTP code.

Only principals with an admin role may sign in. A wrong TOTP code counts as a
failed login for the throttle, so codes cannot be guessed faster than passwords.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tidings.admin.roles import ADMIN_ROLES
from tidings.model.directory import Principal
from tidings.model.errors import AuthenticationFailed

if TYPE_CHECKING:
    from tidings.admin.service import AdminService

log = logging.getLogger(__name__)

WRONG = "wrong address, password or code"


class ConsoleLogin:
    """Checks the three login fields; raises AuthenticationFailed with a message
    fit to show on the login form."""

    def __init__(self, service: AdminService, *, require_totp: bool = True) -> None:
        self.service = service
        self.require_totp = require_totp

    async def login(self, login: str, password: str, code: str, remote_ip: str) -> Principal:
        authenticator = self.service.auth.authenticator
        principal = await authenticator.authenticate(login, password, remote_ip)
        factors = self.service.second_factor
        enrolled = factors is not None and await factors.enrolled(principal)
        if factors is not None and enrolled:
            if not await factors.verify(principal, code):
                await authenticator.throttle.record_failure(login, remote_ip)
                log.info("console.login_failed login=%s ip=%s reason=totp", login, remote_ip)
                raise AuthenticationFailed(WRONG)
        elif self.require_totp:
            log.info("console.login_refused login=%s ip=%s reason=no_totp", login, remote_ip)
            raise AuthenticationFailed(
                "this account has no second factor yet: run "
                f"`tidings user totp enable {principal.name}` on the server"
            )
        if principal.role not in ADMIN_ROLES:
            log.info("console.login_refused login=%s ip=%s reason=role", login, remote_ip)
            raise AuthenticationFailed("only administrators may use the admin console")
        log.info("console.login principal=%s ip=%s", principal.name, remote_ip)
        return principal
