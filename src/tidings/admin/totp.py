"""TOTP second factors (RFC 6238, via pyotp): enrolment with role checks and audit,
and verification with replay protection (a code is good once, RFC 6238 section 5.2).
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import TYPE_CHECKING

import pyotp

from tidings.admin.roles import Actor, Op, authorize
from tidings.model.directory import Principal
from tidings.model.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from tidings.admin.directory import DirectoryAdminService
    from tidings.store.services import ConsoleStateService

log = logging.getLogger(__name__)

STEP_SECONDS = 30  # RFC 6238 section 4: the default time step X
DRIFT_STEPS = 1  # accept one step either side for clock drift (section 6)
DIGITS = 6


class SecondFactorAdmin:
    """Enrol, remove and check TOTP secrets."""

    def __init__(
        self, directory: DirectoryAdminService, state: ConsoleStateService, issuer: str
    ) -> None:
        self.directory = directory
        self.state = state
        self.issuer = issuer

    async def _target(self, actor: Actor, address: str) -> Principal:
        target = await self.directory.principal(actor, address)
        is_self = actor.principal is not None and actor.principal.id == target.id
        if not is_self:
            # A second factor is a credential: whoever may reset the password may set it.
            authorize(actor, Op.PASSWORD_RESET, target=target)
        return target

    async def enable(self, actor: Actor, address: str) -> str:
        """Enrol a fresh secret (replacing any); returns the otpauth:// URI to scan."""
        target = await self._target(actor, address)
        secret = pyotp.random_base32()
        await self.state.set_totp(target.id, secret)
        await self.state.delete_sessions(target.id)  # signed in with the old factor
        await self.directory._audit(actor, "principal.totp_enable", "principal", target.name)
        return provisioning_uri(secret, target.name, self.issuer)

    async def disable(self, actor: Actor, address: str) -> None:
        target = await self._target(actor, address)
        if await self.state.totp(target.id) is None:
            raise NotFound(f"{target.name} has no second factor")
        await self.state.set_totp(target.id, None)
        await self.state.delete_sessions(target.id)
        await self.directory._audit(actor, "principal.totp_disable", "principal", target.name)

    async def enrolled(self, principal: Principal) -> bool:
        return await self.state.totp(principal.id) is not None

    async def verify(self, principal: Principal, code: str, now: float | None = None) -> bool:
        """Whether `code` is the principal's current TOTP code, not used before."""
        code = code.strip().replace(" ", "")
        if len(code) != DIGITS or not code.isdigit():
            return False
        enrolment = await self.state.totp(principal.id)
        if enrolment is None:
            return False
        totp = pyotp.TOTP(enrolment.secret, digits=DIGITS, interval=STEP_SECONDS)
        current = int((time.time() if now is None else now) // STEP_SECONDS)
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                if step <= enrolment.last_step or not await self.state.claim_totp_step(
                    principal.id, step
                ):
                    log.info("admin.totp_replayed principal=%s", principal.name)
                    return False
                return True
        return False


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The Key Uri Format authenticator apps scan (otpauth://totp/...)."""
    if not issuer:
        raise InvalidInput("an issuer name is needed", field="issuer")
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )
