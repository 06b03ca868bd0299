"""Who may do what: the admin roles as a pure table, checked before every operation.

global_admin may do everything; domain_admin everything inside the domains it
administers (but no domains, queue or audit log); helpdesk reads, creates plain
users, resets passwords and enables/disables, but deletes nothing; auditor reads,
including the audit log. Only a global admin may touch an admin principal or
hand out an admin role, so no role can raise itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tidings.model.directory import Principal, Role
from tidings.model.errors import PermissionDenied


class Op(enum.StrEnum):
    READ = "read"
    DOMAIN_WRITE = "domain.write"  # create, delete, catch-all
    PRINCIPAL_CREATE = "principal.create"
    PRINCIPAL_UPDATE = "principal.update"  # display name, quota, role
    PRINCIPAL_DELETE = "principal.delete"
    PASSWORD_RESET = "password.reset"
    ENABLE = "principal.enable"  # enable or disable
    LINK_ADD = "link.add"  # aliases, members, permissions, app passwords, policies
    LINK_REMOVE = "link.remove"
    QUEUE_READ = "queue.read"
    QUEUE_RETRY = "queue.retry"
    QUEUE_DELETE = "queue.delete"
    AUDIT_READ = "audit.read"
    TOKEN_MANAGE = "token.manage"  # tokens of other principals; own tokens are always allowed
    QUARANTINE_READ = "quarantine.read"  # list and show held messages (headers only)
    QUARANTINE_RELEASE = "quarantine.release"
    QUARANTINE_DELETE = "quarantine.delete"
    SPAM_RULES = "spam.rules"  # server-wide rule weights
    COLLECTION_SHARE = "collection.share"  # grant or revoke calendar/address-book shares


_READ = frozenset({Op.READ})
ALLOWED: dict[Role, frozenset[Op]] = {
    Role.GLOBAL_ADMIN: frozenset(Op),
    Role.DOMAIN_ADMIN: _READ
    | {
        Op.PRINCIPAL_CREATE,
        Op.PRINCIPAL_UPDATE,
        Op.PRINCIPAL_DELETE,
        Op.PASSWORD_RESET,
        Op.ENABLE,
        Op.LINK_ADD,
        Op.LINK_REMOVE,
        Op.QUARANTINE_READ,
        Op.QUARANTINE_RELEASE,
        Op.QUARANTINE_DELETE,
        Op.COLLECTION_SHARE,
    },
    Role.HELPDESK: _READ
    | {
        Op.PRINCIPAL_CREATE,
        Op.PASSWORD_RESET,
        Op.ENABLE,
        Op.LINK_ADD,
        Op.QUEUE_READ,
        Op.QUEUE_RETRY,
        Op.QUARANTINE_READ,
        Op.QUARANTINE_RELEASE,
    },
    Role.AUDITOR: _READ | {Op.QUEUE_READ, Op.AUDIT_READ, Op.QUARANTINE_READ},
    Role.USER: frozenset(),
}

ADMIN_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.DOMAIN_ADMIN, Role.HELPDESK, Role.AUDITOR})
# Roles each role may hand out (on create, update or to a token).
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.GLOBAL_ADMIN: frozenset(Role),
    Role.DOMAIN_ADMIN: frozenset({Role.USER}),
    Role.HELPDESK: frozenset({Role.USER}),
    Role.AUDITOR: frozenset(),
    Role.USER: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as what, over which domains, from where."""

    name: str  # for the audit log: "alice@example.org", "token:4:alice@...", "cli:root"
    role: Role
    principal: Principal | None = None  # None for the local operator (CLI)
    domains: frozenset[str] = field(default_factory=frozenset)  # domain admins only
    remote_ip: str | None = None
    via: str = "api"

    @property
    def address(self) -> str | None:
        return self.principal.name if self.principal is not None else None

    def sees_domain(self, domain: str) -> bool:
        """Whether objects of `domain` are inside this actor's scope."""
        return self.role is not Role.DOMAIN_ADMIN or domain in self.domains


def may(actor: Actor, op: Op) -> bool:
    return op in ALLOWED[actor.role]


def authorize(
    actor: Actor,
    op: Op,
    *,
    domain: str | None = None,
    target: Principal | None = None,
    grants: Role | None = None,
) -> None:
    """Raise PermissionDenied unless `actor` may do `op` (on `target` / in `domain`,
    handing out the role `grants`)."""
    if not may(actor, op):
        raise PermissionDenied(f"the {actor.role.value} role may not do {op.value}")
    if target is not None:
        domain = domain or target.domain
        # Changing an admin is how one would raise oneself: global admins only.
        if op is not Op.READ and target.role in ADMIN_ROLES and actor.role is not Role.GLOBAL_ADMIN:
            raise PermissionDenied(f"only a global admin may change the admin {target.name}")
    if domain is not None and not actor.sees_domain(domain):
        raise PermissionDenied(f"you do not administer the domain {domain}")
    if grants is not None and grants not in GRANTABLE[actor.role]:
        raise PermissionDenied(f"the {actor.role.value} role may not grant the {grants.value} role")
