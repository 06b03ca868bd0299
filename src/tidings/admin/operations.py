"""Queue, status, API tokens and the audit log, with role checks and audit records."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tidings import metrics
from tidings.admin.roles import GRANTABLE, Actor, Op, authorize
from tidings.model.directory import PrincipalKind, Role
from tidings.model.errors import InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import QueueId
from tidings.model.queue import QueuedMessage, RecipientState
from tidings.policy.audit import AuditTrail

if TYPE_CHECKING:
    from tidings.store.services import (
        AdminAccessService,
        APIToken,
        AuditFilter,
        AuditRecord,
        ConsoleStateService,
        DirectoryService,
        QueueService,
    )

TOKEN_PREFIX = "tdg_"
MAX_TOKEN_NAME = 100
MAX_COUNTED = 100_000


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 suffices (no slow hash needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Status:
    domains: int
    principals: dict[str, int]
    queue_messages: int
    queue_pending_recipients: int
    audit_records: int
    connections: dict[str, int] = field(default_factory=dict)  # open, per listener
    storage_bytes: int | None = None  # None: hidden from domain admins / not known
    stored_last_24h: int | None = None  # messages stored (delivered or appended)
    stored_per_hour: list[dict[str, object]] = field(default_factory=list)


def open_connections() -> dict[str, int]:
    """Open TCP connections per listener, from this process's metrics."""
    found: dict[str, int] = {}
    for family in metrics.CONNECTIONS_ACTIVE.collect():
        for sample in family.samples:
            found[sample.labels["listener"]] = int(sample.value)
    return found


class OperationsAdminService:
    """Everything that is not the directory itself."""

    def __init__(
        self,
        directory: DirectoryService,
        trail: AuditTrail,
        access: AdminAccessService,
        queue: QueueService | None,
        *,
        usage: ConsoleStateService | None = None,
    ) -> None:
        self.directory = directory
        self.trail = trail
        self.access = access
        self.queue = queue
        self.usage = usage

    async def _audit(self, actor: Actor, action: str, object_type: str, object_id: str,
                     before: Mapping[str, object] | None = None,
                     after: Mapping[str, object] | None = None) -> None:  # fmt: skip
        await self.trail.record(
            actor=actor.name,
            actor_address=actor.address,
            remote_ip=actor.remote_ip,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )

    def _queue(self) -> QueueService:
        if self.queue is None:
            raise NotFound("this server has no outbound queue")
        return self.queue

    # --- queue -----------------------------------------------------------------------
    async def list_queue(
        self, actor: Actor, *, offset: int = 0, limit: int = 100
    ) -> tuple[Sequence[QueuedMessage], int]:
        authorize(actor, Op.QUEUE_READ)
        queue = self._queue()
        everything = await queue.list(offset=0, limit=MAX_COUNTED)
        return everything[offset : offset + limit], len(everything)

    async def get_queued(self, actor: Actor, queue_id: int) -> QueuedMessage:
        authorize(actor, Op.QUEUE_READ)
        return await self._queue().get(QueueId(queue_id))

    async def retry(self, actor: Actor, queue_id: int) -> None:
        authorize(actor, Op.QUEUE_RETRY)
        await self._queue().get(QueueId(queue_id))  # NotFound first
        await self._queue().retry_now(QueueId(queue_id))
        await self._audit(actor, "queue.retry", "queue", str(queue_id))

    async def delete_queued(self, actor: Actor, queue_id: int) -> None:
        authorize(actor, Op.QUEUE_DELETE)
        message = await self._queue().get(QueueId(queue_id))
        await self._queue().delete(QueueId(queue_id))
        before: dict[str, object] = {
            "sender": message.sender,
            "recipients": [r.address for r in message.recipients],
        }
        await self._audit(actor, "queue.delete", "queue", str(queue_id), before=before)

    # --- status ----------------------------------------------------------------------
    async def status(self, actor: Actor) -> Status:
        authorize(actor, Op.READ)
        domains = [d for d in await self.directory.list_domains() if actor.sees_domain(d.name)]
        counts: dict[str, int] = {}
        for kind in PrincipalKind:
            found = await self.directory.list_principals(kind=kind, limit=MAX_COUNTED)
            counts[kind.value] = sum(1 for p in found if actor.sees_domain(p.domain))
        messages: Sequence[QueuedMessage] = ()
        if self.queue is not None and actor.role is not Role.DOMAIN_ADMIN:
            messages = await self.queue.list(limit=MAX_COUNTED)
        _records, audit_total = await self.trail.service.list(limit=1)
        pending = sum(
            1 for m in messages for r in m.recipients if r.state is RecipientState.PENDING
        )
        if actor.role is Role.DOMAIN_ADMIN or self.usage is None:
            # Server-wide figures are not a domain admin's business.
            return Status(len(domains), counts, len(messages), pending, audit_total)
        figures = await self.usage.usage(datetime.now(UTC))
        per_hour = [{"hour": h.isoformat(), "messages": n} for h, n in figures.stored_per_hour]
        return Status(
            len(domains), counts, len(messages), pending, audit_total,
            connections=open_connections(),
            storage_bytes=figures.storage_bytes,
            stored_last_24h=sum(n for _h, n in figures.stored_per_hour),
            stored_per_hour=per_hour,
        )  # fmt: skip

    # --- API tokens ------------------------------------------------------------------
    async def create_token(
        self, actor: Actor, name: str, *, role: Role | None = None, for_address: str | None = None
    ) -> tuple[APIToken, str]:
        """A new token; the secret is returned only now. Without `for_address` it is
        the caller's own; a token never holds a role its owner could not grant."""
        name = name.strip()
        if not name or len(name) > MAX_TOKEN_NAME or any(ch < " " for ch in name):
            raise InvalidInput("a token name is one line of 1 to 100 characters", field="name")
        if for_address is not None or actor.principal is None:
            authorize(actor, Op.TOKEN_MANAGE)
            if for_address is None:
                raise InvalidInput("name the principal the token acts as", field="principal")
            owner = await self.directory.find_principal(for_address.strip().lower())
        else:
            owner = actor.principal
        chosen = role or owner.role
        if chosen is Role.USER:
            raise InvalidInput("an API token needs an admin role", field="role")
        if chosen is not owner.role and chosen not in GRANTABLE[owner.role]:
            raise PermissionDenied(f"{owner.name} may not hold a {chosen.value} token")
        if chosen not in GRANTABLE[actor.role] and chosen is not actor.role:
            raise PermissionDenied(f"you may not create a {chosen.value} token")
        secret = new_token()
        token = await self.access.create_token(owner.id, name, chosen, hash_token(secret))
        after = {"principal": owner.name, "name": name, "role": chosen.value}
        await self._audit(actor, "token.create", "token", str(token.id), after=after)
        return token, secret

    async def list_tokens(self, actor: Actor) -> Sequence[APIToken]:
        """Every token for a global admin; one's own otherwise."""
        if actor.role is Role.GLOBAL_ADMIN:
            return await self.access.list_tokens()
        if actor.principal is None:
            return []
        return await self.access.list_tokens(actor.principal.id)

    async def revoke_token(self, actor: Actor, token_id: int) -> None:
        mine = {t.id for t in await self.list_tokens(actor)}
        if token_id not in mine:
            raise NotFound(f"API token {token_id} does not exist")
        await self.access.delete_token(token_id)
        await self._audit(actor, "token.revoke", "token", str(token_id))

    # --- audit log -------------------------------------------------------------------
    async def audit_records(
        self, actor: Actor, filters: AuditFilter | None = None, *, offset: int = 0,
        limit: int = 100,
    ) -> tuple[Sequence[AuditRecord], int]:  # fmt: skip
        authorize(actor, Op.AUDIT_READ)
        return await self.trail.service.list(filters, offset=offset, limit=limit)

    async def verify_audit(self, actor: Actor) -> int | None:
        authorize(actor, Op.AUDIT_READ)
        return await self.trail.service.verify()
