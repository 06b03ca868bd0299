"""Quarantine, sender lists and spam rule weights for admins: role checks (roles.py),
domain scoping and an audit record for every change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.admin.roles import Actor, Op, authorize
from tidings.hygiene.spam.rules import DEFAULT_RULES, weights_of
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import AccountId
from tidings.policy.audit import AuditTrail

if TYPE_CHECKING:
    from tidings.admin.directory import DirectoryAdminService
    from tidings.hygiene.quarantine import Quarantine
    from tidings.store.services import (
        QuarantineEntry,
        SenderListEntry,
        SpamDataService,
        SpamStats,
    )

MAX_LISTED = 10_000


@dataclass(frozen=True, slots=True)
class RuleWeight:
    name: str
    weight: float
    default: float | None  # None: not a built-in rule
    description: str


def _domains(entry: QuarantineEntry) -> set[str]:
    return {r.rpartition("@")[2].lower() for r in entry.held.recipients}


class HygieneAdminService:
    def __init__(self, quarantine: Quarantine, spam: SpamDataService, trail: AuditTrail,
                 directory: DirectoryAdminService,
                 config_rules: Mapping[str, float] | None = None) -> None:
        self.quarantine = quarantine
        self.spam = spam
        self.trail = trail
        self.directory = directory
        self.config_rules = dict(config_rules or {})

    async def _audit(self, actor: Actor, action: str, object_type: str, object_id: str,
                     before: Mapping[str, object] | None = None,
                     after: Mapping[str, object] | None = None) -> None:
        await self.trail.record(
            actor=actor.name, actor_address=actor.address, remote_ip=actor.remote_ip,
            action=action, object_type=object_type, object_id=object_id,
            before=before, after=after,
        )

    # --- quarantine ------------------------------------------------------------------
    def _visible(self, actor: Actor, entry: QuarantineEntry) -> bool:
        return all(actor.sees_domain(d) for d in _domains(entry))

    async def list_quarantine(
        self, actor: Actor, *, status: str | None = "held", offset: int = 0, limit: int = 100
    ) -> tuple[Sequence[QuarantineEntry], int]:
        authorize(actor, Op.QUARANTINE_READ)
        everything = await self.quarantine.list(status=status, limit=MAX_LISTED)
        mine = [e for e in everything if self._visible(actor, e)]
        return mine[offset : offset + limit], len(mine)

    async def get(self, actor: Actor, entry_id: int, op: Op = Op.QUARANTINE_READ
                  ) -> QuarantineEntry:
        authorize(actor, op)
        entry = await self.quarantine.get(entry_id)
        if not self._visible(actor, entry):
            raise NotFound(f"no quarantined message {entry_id}")  # existence never leaks
        return entry

    async def header_section(self, actor: Actor, entry_id: int) -> str:
        """The held message's header fields (never its body): enough to judge it."""
        await self.get(actor, entry_id)
        raw = await self.quarantine.content(entry_id)
        end = raw.find(b"\r\n\r\n")
        return raw[: end if end >= 0 else min(len(raw), 64 * 1024)].decode("utf-8", "replace")

    async def release(self, actor: Actor, entry_id: int) -> tuple[QuarantineEntry, int]:
        """Deliver to the recipients; returns the entry and how many copies were stored."""
        entry = await self.get(actor, entry_id, Op.QUARANTINE_RELEASE)
        released, delivered = await self.quarantine.release(entry_id, actor.name)
        await self._audit(actor, "quarantine.release", "quarantine", str(entry_id),
                          before=_summary(entry), after={"delivered": len(delivered)})
        return released, len(delivered)

    async def delete(self, actor: Actor, entry_id: int) -> QuarantineEntry:
        entry = await self.get(actor, entry_id, Op.QUARANTINE_DELETE)
        deleted = await self.quarantine.delete(entry_id, actor.name)
        await self._audit(actor, "quarantine.delete", "quarantine", str(entry_id),
                          before=_summary(entry))
        return deleted

    # --- per-user sender lists ---------------------------------------------------------
    async def senders(self, actor: Actor, address: str) -> Sequence[SenderListEntry]:
        target = await self.directory.principal(actor, address)
        account = AccountId(int(target.id))
        return (await self.spam.sender_lists([account])).get(account, [])

    async def add_sender(self, actor: Actor, address: str, pattern: str, kind: str
                         ) -> SenderListEntry:
        target = await self.directory.principal(actor, address)
        authorize(actor, Op.LINK_ADD, domain=target.domain)
        entry = await self.spam.add_sender(AccountId(int(target.id)), pattern, kind)
        await self._audit(actor, "spam.sender_add", "principal", target.name,
                          after={"pattern": entry.pattern, "kind": entry.kind})
        return entry

    async def remove_sender(self, actor: Actor, address: str, pattern: str) -> None:
        target = await self.directory.principal(actor, address)
        authorize(actor, Op.LINK_REMOVE, domain=target.domain)
        await self.spam.remove_sender(AccountId(int(target.id)), pattern)
        await self._audit(actor, "spam.sender_remove", "principal", target.name,
                          before={"pattern": pattern.strip().lower()})

    # --- rules and statistics --------------------------------------------------------
    async def rules(self, actor: Actor) -> list[RuleWeight]:
        authorize(actor, Op.READ)
        stored = await self.spam.rule_weights()
        weights = weights_of({**self.config_rules, **stored})
        return [RuleWeight(name, weight, DEFAULT_RULES[name][0] if name in DEFAULT_RULES
                           else None, DEFAULT_RULES.get(name, (0.0, ""))[1])
                for name, weight in sorted(weights.items())]

    async def set_rule(self, actor: Actor, name: str, weight: float | None) -> None:
        authorize(actor, Op.SPAM_RULES)
        if name not in DEFAULT_RULES:
            raise InvalidInput(f"no spam rule called {name}", field="name")
        before = (await self.spam.rule_weights()).get(name)
        await self.spam.set_rule_weight(name, weight)
        await self._audit(actor, "spam.rule_set", "spam_rule", name,
                          before={"weight": before}, after={"weight": weight})

    async def stats(self, actor: Actor, address: str | None = None) -> SpamStats:
        if address is None:
            authorize(actor, Op.READ)
            return await self.spam.stats(0)
        target = await self.directory.principal(actor, address)
        return await self.spam.stats(int(target.id))


def _summary(entry: QuarantineEntry) -> dict[str, object]:
    return {"sender": entry.held.sender, "recipients": list(entry.held.recipients),
            "reason": entry.held.reason, "score": entry.held.score}
