"""Authentication: passwords, app passwords, throttling and SASL exchanges.

Every protocol authenticates through one `Authenticator`: `authenticate()` for a
login/password pair (POP3 USER/PASS, IMAP LOGIN, HTTP Basic), `sasl()` for a
SASL exchange (IMAP AUTHENTICATE, SMTP AUTH, POP3 AUTH, ManageSieve).
Failures raise `AuthenticationFailed`; `throttled=True` means "try again later".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, assert_never

from tidings.directory.login_cache import LoginCache, credential_fingerprint
from tidings.directory.passwords import PasswordHasher, password_secrets
from tidings.directory.sasl import (
    INVALID_CREDENTIALS,
    PLAINTEXT_MECHANISMS,
    SUPPORTED_MECHANISMS,
    Challenge,
    Failure,
    Mechanism,
    NeedCredential,
    PasswordVerdict,
    Step,
    Success,
    create_mechanism,
)
from tidings.directory.scram import DEFAULT_ITERATIONS, ScramCredential
from tidings.directory.throttle import AuthThrottle, Throttle
from tidings.model.directory import Credential, Principal, PrincipalKind, Role
from tidings.model.errors import AuthenticationFailed, InvalidInput, NotFound, TidingsError

if TYPE_CHECKING:
    # Annotations only: importing the store package at run time would pull in its backends.
    from tidings.store.services import DirectoryService

log = logging.getLogger(__name__)

MAX_PASSWORD_CHARS = 1024  # argon2 would hash megabytes; nobody's password is that long


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A finished SASL exchange.

    `principal` is who the session acts as; `authenticated_as` is whose
    credentials were checked (they differ only for admin impersonation).
    `server_final`, if set, must still reach the client (see `tidings.directory.sasl`).
    """

    principal: Principal
    authenticated_as: Principal
    mechanism: str
    server_final: bytes | None = None


class Authenticator:
    """Checks credentials against the directory, with throttling and hash upgrades."""

    def __init__(
        self,
        directory: DirectoryService,
        throttle: AuthThrottle | None = None,
        hasher: PasswordHasher | None = None,
        *,
        scram_iterations: int = DEFAULT_ITERATIONS,
        logins: LoginCache | None = None,
    ) -> None:
        self.directory = directory
        # Verified passwords for authenticate_cached; None: always hash.
        self.logins = logins
        self.throttle: AuthThrottle = throttle if throttle is not None else Throttle()
        self.hasher = hasher or PasswordHasher()
        self.scram_iterations = scram_iterations

    # --- login and password ---------------------------------------------------------
    async def authenticate(self, login: str, password: str, remote_ip: str) -> Principal:
        """The principal whose main password or app password this is.

        Raises AuthenticationFailed (throttled=True while throttled); TemporaryFailure.
        """
        await self.check_throttle(login, remote_ip)
        principal = await self.verify_password(login, password)
        if principal is None:
            await self.throttle.record_failure(login, remote_ip)
            log.info("auth.failed login=%s ip=%s mechanism=password", login, remote_ip)
            raise AuthenticationFailed()
        await self.throttle.record_success(login, remote_ip)
        log.info("auth.succeeded login=%s ip=%s mechanism=password", principal.name, remote_ip)
        return principal

    async def authenticate_cached(self, login: str, password: str, remote_ip: str) -> Principal:
        """`authenticate`, skipping the hash when this exact pair was verified within
        the cache's ttl and the stored credential has not changed since (one read).

        Raises AuthenticationFailed (throttled=True while throttled); TemporaryFailure.
        """
        if self.logins is None:
            return await self.authenticate(login, password, remote_ip)
        await self.check_throttle(login, remote_ip)
        hit = self.logins.get(login, password)
        if hit is not None:
            current = await self._credential(login)
            if (
                current is not None
                and may_log_in(current.principal)
                and credential_fingerprint(current) == hit[1]
            ):
                log.info(
                    "auth.succeeded login=%s ip=%s mechanism=password cached=yes",
                    current.principal.name,
                    remote_ip,
                )
                return current.principal
        self.logins.forget(login)
        principal = await self.authenticate(login, password, remote_ip)
        current = await self._credential(login)
        if current is not None:
            self.logins.put(login, password, principal, credential_fingerprint(current))
        return principal

    async def _credential(self, login: str) -> Credential | None:
        try:
            return await self.directory.credential(login)
        except NotFound:
            return None

    async def check_throttle(self, login: str, remote_ip: str) -> None:
        """Raises AuthenticationFailed(throttled=True) if attempts must wait."""
        verdict = await self.throttle.check(login, remote_ip)
        if not verdict.allowed:
            log.info(
                "auth.throttled login=%s ip=%s retry_after=%.1f",
                login,
                remote_ip,
                verdict.retry_after,
            )
            raise AuthenticationFailed("too many failed attempts; try again later", throttled=True)

    async def verify_password(self, login: str, password: str) -> Principal | None:
        """The principal if `password` is its main or an app password, else None.

        Does no throttling; costs at least one hash verification even for an
        unknown login, so response time does not reveal which accounts exist.
        """
        if not login or not password or len(password) > MAX_PASSWORD_CHARS:
            return None
        try:
            credential = await self.directory.credential(login)
        except NotFound:
            await self.hasher.verify_dummy(password)
            return None
        main_ok = False
        if credential.password_hash is None:
            await self.hasher.verify_dummy(password)
        else:
            main_ok = await self.hasher.verify(credential.password_hash, password)
        app_password_id = None if main_ok else await self._app_password(credential, password)
        if not (main_ok or app_password_id is not None) or not may_log_in(credential.principal):
            return None
        if credential.password_hash is not None and main_ok:
            await self._upgrade_secrets(credential, credential.password_hash, password)
        elif app_password_id is not None:
            await self._touch_app_password(app_password_id)
        return credential.principal

    async def _app_password(self, credential: Credential, password: str) -> int | None:
        """The id of the app password that `password` is, if any."""
        for app_password_id, app_hash in credential.app_password_hashes:
            if await self.hasher.verify(app_hash, password):
                return app_password_id
        return None

    async def _touch_app_password(self, app_password_id: int) -> None:
        try:
            await self.directory.touch_app_password(app_password_id)
        except TidingsError as exc:
            # Only the "last used" date is lost; the login itself is fine.
            log.warning("auth.app_password_touch_failed error=%s", type(exc).__name__)

    async def _upgrade_secrets(
        self, credential: Credential, password_hash: str, password: str
    ) -> None:
        """Rehash with current parameters, and add a missing SCRAM credential."""
        if not self.hasher.needs_rehash(password_hash) and credential.scram_sha256:
            return
        new_hash, scram = await password_secrets(
            self.hasher, password, scram_iterations=self.scram_iterations
        )
        try:
            await self.directory.set_password(credential.principal.id, new_hash, scram)
        except TidingsError as exc:
            # The login itself succeeded; the upgrade is retried at the next one.
            log.warning(
                "auth.rehash_failed principal=%s error=%s",
                credential.principal.id,
                type(exc).__name__,
            )
            return
        log.info("auth.rehashed principal=%s", credential.principal.id)

    # --- SASL ------------------------------------------------------------------------
    def mechanisms(self, *, tls: bool) -> tuple[str, ...]:
        """Mechanism names to advertise: PLAIN and LOGIN only on a TLS connection."""
        return tuple(m for m in SUPPORTED_MECHANISMS if tls or m not in PLAINTEXT_MECHANISMS)

    def sasl(
        self, mechanism: str, *, remote_ip: str, allow_impersonation: bool = False
    ) -> SASLExchange:
        """A new exchange for `mechanism`. Raises InvalidInput(field="mechanism").

        With `allow_impersonation`, a GLOBAL_ADMIN may give another address as
        authzid and act as that principal (a "master user").
        """
        created = create_mechanism(
            mechanism,
            allow_impersonation=allow_impersonation,
            scram_iterations=self.scram_iterations,
        )
        if created is None:
            raise InvalidInput(f"unsupported SASL mechanism {mechanism!r}", field="mechanism")
        return SASLExchange(self, created, remote_ip=remote_ip)

    async def scram_credential(self, login: str) -> tuple[Principal, ScramCredential] | None:
        """The principal and its stored SCRAM credential, if it may log in with one."""
        try:
            credential = await self.directory.credential(login)
        except NotFound:
            return None
        if not may_log_in(credential.principal) or not credential.scram_sha256:
            return None
        try:
            return credential.principal, ScramCredential.parse(credential.scram_sha256)
        except ValueError:
            log.warning("auth.scram_credential_invalid principal=%s", credential.principal.id)
            return None


def may_log_in(principal: Principal) -> bool:
    """Enabled principals that own data; a group is only an address."""
    return principal.enabled and principal.kind is not PrincipalKind.GROUP


class SASLExchange:
    """One SASL exchange wired to the directory: the protocol only moves bytes.

    ``result = await exchange.start(initial)``; while `result` is a `Challenge`,
    send it, read the client's answer (the protocol handles base64 and "*") and
    ``result = await exchange.step(answer)``. The end is an `Authenticated`, or
    AuthenticationFailed is raised (throttled=True while throttled).
    """

    def __init__(self, authenticator: Authenticator, mechanism: Mechanism, *, remote_ip: str):
        self.authenticator = authenticator
        self.mechanism = mechanism
        self.remote_ip = remote_ip
        self._authcid = ""
        self._principal: Principal | None = None
        self._finished = False

    @property
    def name(self) -> str:
        return self.mechanism.name

    async def start(self, initial_response: bytes | None) -> Challenge | Authenticated:
        """Begin with the client's initial response (None if it sent none)."""
        if self._finished:
            raise AuthenticationFailed("SASL exchange is already over")
        return await self._advance(self.mechanism.start(initial_response))

    async def step(self, response: bytes) -> Challenge | Authenticated:
        """Continue with the client's decoded response to the last challenge."""
        if self._finished:
            raise AuthenticationFailed("SASL exchange is already over")
        return await self._advance(self.mechanism.step(response))

    async def _advance(self, step: Step) -> Challenge | Authenticated:
        while True:
            match step:
                case Challenge():
                    return step
                case NeedCredential():
                    step = await self._resolve(step)
                case Success():
                    return await self._succeed(step)
                case Failure(reason=reason):
                    await self._fail(reason)
                case _:
                    assert_never(step)

    async def _resolve(self, need: NeedCredential) -> Step:
        self._authcid = need.authcid
        try:
            await self.authenticator.check_throttle(need.authcid, self.remote_ip)
        except AuthenticationFailed:
            self._finished = True
            raise
        if need.password is not None:
            self._principal = await self.authenticator.verify_password(need.authcid, need.password)
            return self.mechanism.resume(PasswordVerdict(self._principal is not None))
        found = await self.authenticator.scram_credential(need.authcid)
        if found is None:
            return self.mechanism.resume(None)
        self._principal, credential = found
        return self.mechanism.resume(credential)

    async def _succeed(self, success: Success) -> Authenticated:
        principal = self._principal
        if principal is None:  # a mechanism bug; never let it through
            await self._fail("mechanism succeeded without a verified principal")
        acting = principal
        if success.authzid and success.authzid.casefold() != principal.name.casefold():
            acting = await self._impersonated(principal, success.authzid)
        self._finished = True
        await self.authenticator.throttle.record_success(self._authcid, self.remote_ip)
        log.info(
            "auth.succeeded login=%s ip=%s mechanism=%s acting_as=%s",
            principal.name,
            self.remote_ip,
            self.name,
            acting.name,
        )
        return Authenticated(acting, principal, self.name, success.server_final)

    async def _impersonated(self, principal: Principal, authzid: str) -> Principal:
        if principal.role is not Role.GLOBAL_ADMIN:
            await self._fail("only a global admin may act as another user")
        try:
            target = await self.authenticator.directory.find_principal(authzid)
        except NotFound:
            await self._fail("authorization identity does not exist")
        if not may_log_in(target):
            await self._fail("authorization identity may not log in")
        return target

    async def _fail(self, reason: str) -> NoReturn:
        """Record the failure and raise AuthenticationFailed (never returns)."""
        self._finished = True
        if self._authcid:
            await self.authenticator.throttle.record_failure(self._authcid, self.remote_ip)
        log.info(
            "auth.failed login=%s ip=%s mechanism=%s reason=%r",
            self._authcid,
            self.remote_ip,
            self.name,
            reason,
        )
        message = "authentication failed" if reason == INVALID_CREDENTIALS else reason
        raise AuthenticationFailed(message)
