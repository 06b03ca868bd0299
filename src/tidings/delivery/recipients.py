"""Recipient resolution at RCPT time: exact address or alias, plus-addressing
(`user+tag@`), domain catch-all, groups (nested, each account once), shared
mailboxes and resources; quota is checked before the message is accepted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tidings.model.directory import Principal, PrincipalKind
from tidings.model.errors import NotFound, PermissionDenied, PolicyRejection, QuotaExceeded
from tidings.model.ids import AccountId
from tidings.store.services import DirectoryService, MailService

log = logging.getLogger(__name__)

DOMAIN_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class LocalTarget:
    """One account that gets a copy; `folder` is an existing plus-tag folder or None."""

    account_id: AccountId
    principal: Principal
    folder: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedRecipient:
    """Where mail for one envelope address goes: local accounts, or a remote host."""

    address: str  # local-part@domain with the domain lower-cased (A-labels)
    local: tuple[LocalTarget, ...] = ()
    is_remote: bool = False


def normalize_domain(domain: str) -> str:
    """Lower-case; internationalised names as IDNA A-labels, the form domains are stored in."""
    domain = domain.lower().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def account_of(principal: Principal) -> AccountId:
    """Data-owning principals own the account with their own id."""
    return AccountId(int(principal.id))


class RecipientResolver:
    """Resolves envelope recipients against the directory (and mailbox folders)."""

    def __init__(
        self, directory: DirectoryService, mail: MailService, *, plus_separator: str = "+",
        domain_cache_seconds: float = DOMAIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.mail = mail
        self.plus_separator = plus_separator
        self.domain_cache_seconds = domain_cache_seconds
        self.clock = clock
        self._local_domains: dict[str, float] = {}  # domain -> when it was last confirmed

    async def is_local_domain(self, domain: str) -> bool:
        """Local domains are remembered briefly (every RCPT asks); others never are."""
        if domain.startswith("["):
            return False
        name = normalize_domain(domain)
        seen = self._local_domains.get(name)
        now = self.clock()
        if seen is not None and now - seen < self.domain_cache_seconds:
            return True
        try:
            await self.directory.get_domain(name)
        except NotFound:
            self._local_domains.pop(name, None)
            return False
        self._local_domains[name] = now
        return True

    async def resolve(
        self, local_part: str, domain: str, *, size: int | None = None
    ) -> ResolvedRecipient:
        """Resolve one address; `size` (the SIZE parameter) sharpens the quota check.

        Raises NotFound (no such user), PermissionDenied (disabled), QuotaExceeded
        (full now), PolicyRejection 5.2.2 (the message can never fit).
        """
        domain = normalize_domain(domain)
        address = f"{local_part}@{domain}"
        if not await self.is_local_domain(domain):
            return ResolvedRecipient(address, is_remote=True)
        principal, tag = await self._find(local_part, domain)
        targets = await self._targets(principal, tag)
        await self._check_quota(targets, size, single=principal.kind is not PrincipalKind.GROUP)
        return ResolvedRecipient(address, tuple(targets))

    async def _find(self, local_part: str, domain: str) -> tuple[Principal, str | None]:
        try:
            return await self.directory.find_principal(f"{local_part}@{domain}"), None
        except NotFound:
            pass
        base, sep, tag = local_part.partition(self.plus_separator)
        if sep and base and tag:
            try:
                return await self.directory.find_principal(f"{base}@{domain}"), tag
            except NotFound:
                pass
        found = await self.directory.get_domain(domain)
        if found.catch_all is not None:
            return await self.directory.get_principal(found.catch_all), None
        raise NotFound(f"no mailbox for {local_part}@{domain}")

    async def _targets(self, principal: Principal, tag: str | None) -> list[LocalTarget]:
        if not principal.enabled:
            raise PermissionDenied(f"mailbox {principal.name} is disabled")
        if principal.kind is not PrincipalKind.GROUP:
            folder = await self._tag_folder(principal, tag) if tag else None
            return [LocalTarget(account_of(principal), principal, folder)]
        members = await self.directory.expand_group(principal.id)
        seen: set[AccountId] = set()
        targets: list[LocalTarget] = []
        for member in members:
            account = account_of(member)
            if member.kind.owns_data and member.enabled and account not in seen:
                seen.add(account)
                targets.append(LocalTarget(account, member))
        if not targets:
            raise NotFound(f"group {principal.name} has no members who can receive mail")
        return targets

    async def _tag_folder(self, principal: Principal, tag: str) -> str | None:
        """RFC 5233 subaddress: file into the folder named by the tag if it exists."""
        try:
            mailbox = await self.mail.find_mailbox(principal, account_of(principal), tag)
        except NotFound:
            return None
        return mailbox.name

    async def _check_quota(
        self, targets: list[LocalTarget], size: int | None, single: bool
    ) -> None:
        """A direct recipient over quota is refused; a group just skips full members."""
        for target in list(targets):
            if target.principal.quota_bytes is None:
                continue  # no limit: spare the read (the commit checks again anyway)
            quota = await self.mail.quota(target.principal, target.account_id)
            if quota.limit_bytes is None:
                continue
            if quota.used_bytes + (size or 0) <= quota.limit_bytes and (
                quota.used_bytes < quota.limit_bytes
            ):
                continue
            if not single:
                log.info("delivery.group_member_over_quota account=%s", target.account_id)
                targets.remove(target)
                continue
            if size is not None and size > quota.limit_bytes:
                raise PolicyRejection(
                    f"The message is larger than the quota of {target.principal.name}", "5.2.2"
                )
            raise QuotaExceeded(f"mailbox {target.principal.name} is full")
        if not targets:
            raise QuotaExceeded("every member's mailbox is full")
