"""The one authorization check for mail (ARCHITECTURE.md rule 7, RFC 4314 rights).

An actor has every right on a mailbox when it owns the account or holds the
FULL_ACCESS permission on it (directly or through a group it belongs to, nested
groups included). Otherwise its rights are the union of the mailbox's ACL
entries for the actor, for each group containing it, and for "anyone"
(grantee 0). Without the lookup right the mailbox does not exist for the actor
(NotFound, so existence never leaks); with lookup but without the needed right
the answer is PermissionDenied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import ALL_RIGHTS, Right, parse_rights
from tidings.model.directory import Permission, Principal, PrincipalKind
from tidings.model.errors import NotFound, PermissionDenied
from tidings.model.ids import AccountId, MailboxId, PrincipalId
from tidings.model.mail import Mailbox
from tidings.store.sql import schema
from tidings.store.sql.mail_rows import to_mailbox

ANYONE = 0  # mailbox_acl.grantee_id for the RFC 4314 "anyone" identifier
MAX_GROUP_DEPTH = 16


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """What the actor may do in one account as a whole."""

    actor_id: PrincipalId
    account_id: AccountId
    full: bool  # owner or FULL_ACCESS: every right on every mailbox
    grantees: frozenset[int]  # actor, its groups and ANYONE: the ACL rows that apply
    per_user_seen: bool  # the account principal's setting
    is_shared: bool  # the account is a shared mailbox principal

    def private_seen(self) -> bool:
        """Whether this actor's \\Seen lives in `seen_flags` rather than the email.

        Every reader of a shared-mailbox account keeps their own \\Seen; in any
        other account, readers other than the owner do. `per_user_seen = false`
        on the account's principal turns this off: one \\Seen for everyone.
        """
        if not self.per_user_seen:
            return False
        return self.is_shared or int(self.actor_id) != int(self.account_id)


@dataclass(frozen=True, slots=True)
class MailboxAccess:
    """A mailbox the actor may see, with its rights there."""

    mailbox: Mailbox
    rights: frozenset[Right]
    account: AccountAccess

    @property
    def private_seen(self) -> bool:
        return self.account.private_seen()


def require(rights: frozenset[Right], *needed: Right) -> None:
    """Raises NotFound without the lookup right, PermissionDenied if a right is missing."""
    if Right.LOOKUP not in rights:
        raise NotFound("no such mailbox")
    missing = [r for r in needed if r not in rights]
    if missing:
        letters = "".join(r.value for r in missing)
        raise PermissionDenied(f"this needs the {letters!r} right on the mailbox")


async def groups_of(conn: AsyncConnection, principal_id: int) -> set[int]:
    """Every group that contains the principal, through nested groups."""
    found: set[int] = set()
    frontier = {principal_id}
    for _ in range(MAX_GROUP_DEPTH):
        if not frontier:
            break
        rows = await conn.execute(
            select(schema.group_members.c.group_id).where(
                schema.group_members.c.member_id.in_(frontier)
            )
        )
        frontier = {int(g) for g in rows.scalars()} - found - {principal_id}
        found |= frontier
    return found


async def account_access(
    conn: AsyncConnection, actor: Principal, account: AccountId
) -> AccountAccess:
    """The actor's standing in `account`. Raises NotFound if the account does not exist."""
    owner = (
        await conn.execute(
            select(schema.principals.c.kind, schema.principals.c.per_user_seen)
            .select_from(
                schema.accounts.join(
                    schema.principals, schema.principals.c.id == schema.accounts.c.id
                )
            )
            .where(schema.accounts.c.id == account)
        )
    ).one_or_none()
    if owner is None:
        raise NotFound("no such account")
    if int(actor.id) == int(account):
        grantees: frozenset[int] = frozenset({actor.id, ANYONE})
        full = True
    else:
        grantees = frozenset({actor.id, ANYONE} | await groups_of(conn, actor.id))
        full = await _has_full_access(conn, account, grantees)
    return AccountAccess(
        actor_id=actor.id,
        account_id=account,
        full=full,
        grantees=grantees,
        per_user_seen=bool(owner.per_user_seen),
        is_shared=owner.kind == PrincipalKind.SHARED.value,
    )


async def _has_full_access(conn: AsyncConnection, account: int, grantees: Iterable[int]) -> bool:
    perms = schema.permissions
    row = (
        await conn.execute(
            select(perms.c.grantee_id)
            .where(
                perms.c.owner_id == account,
                perms.c.grantee_id.in_([g for g in grantees if g != ANYONE]),
                perms.c.permission == Permission.FULL_ACCESS.value,
            )
            .limit(1)
        )
    ).first()
    return row is not None


async def acl_rights(
    conn: AsyncConnection, access: AccountAccess, mailbox_ids: Iterable[int]
) -> dict[MailboxId, frozenset[Right]]:
    """The actor's rights on each given mailbox of the account."""
    ids = list(mailbox_ids)
    if access.full:
        return {MailboxId(i): ALL_RIGHTS for i in ids}
    acl = schema.mailbox_acl
    rights: dict[MailboxId, frozenset[Right]] = {MailboxId(i): frozenset() for i in ids}
    if not ids:
        return rights
    rows = await conn.execute(
        select(acl.c.mailbox_id, acl.c.rights).where(
            acl.c.mailbox_id.in_(ids), acl.c.grantee_id.in_(access.grantees)
        )
    )
    for mailbox_id, letters in rows:
        key = MailboxId(int(mailbox_id))
        rights[key] = rights[key] | parse_rights(letters)
    return rights


async def open_mailbox(
    conn: AsyncConnection, actor: Principal, mailbox_id: MailboxId, *needed: Right
) -> MailboxAccess:
    """Load a mailbox and check the actor's rights on it: the check every call makes.
    Raises NotFound, PermissionDenied."""
    row = (
        await conn.execute(select(schema.mailboxes).where(schema.mailboxes.c.id == mailbox_id))
    ).one_or_none()
    if row is None:
        raise NotFound("no such mailbox")
    mailbox = to_mailbox(row)
    access = await account_access(conn, actor, mailbox.account_id)
    rights = (await acl_rights(conn, access, [mailbox.id]))[mailbox.id]
    require(rights, *needed)
    return MailboxAccess(mailbox, rights, access)


async def visible_mailboxes(
    conn: AsyncConnection, access: AccountAccess
) -> list[tuple[Mailbox, frozenset[Right]]]:
    """The account's mailboxes the actor can look up, with its rights on each."""
    rows = (
        await conn.execute(
            select(schema.mailboxes).where(schema.mailboxes.c.account_id == access.account_id)
        )
    ).all()
    mailboxes = [to_mailbox(row) for row in rows]
    rights = await acl_rights(conn, access, [m.id for m in mailboxes])
    return [(m, rights[m.id]) for m in mailboxes if Right.LOOKUP in rights[m.id]]


async def open_account(
    conn: AsyncConnection, actor: Principal, account: AccountId
) -> tuple[AccountAccess, list[tuple[Mailbox, frozenset[Right]]]]:
    """The actor's access to an account where it sees at least one mailbox.
    Raises NotFound otherwise (a foreign account the actor cannot see)."""
    access = await account_access(conn, actor, account)
    visible = await visible_mailboxes(conn, access)
    if not access.full and not visible:
        raise NotFound("no such account")
    return access, visible


async def require_full(
    conn: AsyncConnection, actor: Principal, account: AccountId
) -> AccountAccess:
    """Owner or FULL_ACCESS; PermissionDenied if the actor only sees some mailboxes,
    NotFound if it sees none."""
    access, _visible = await open_account(conn, actor, account)
    if not access.full:
        raise PermissionDenied("only the owner or a full-access delegate may do this")
    return access
