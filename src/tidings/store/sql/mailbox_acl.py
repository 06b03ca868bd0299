"""Mailbox ACLs (RFC 4314 GETACL/SETACL) and the accounts an actor can open.

Identifiers are principal addresses (primary or alias; a group's address names
the group) or "anyone". The owner is listed with every right and cannot be
given an entry of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import ALL_RIGHTS, Right, format_rights, parse_rights
from tidings.model.changes import ChangeOp
from tidings.model.directory import Permission, Principal
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import AccountId
from tidings.store.sql import schema
from tidings.store.sql.access import ANYONE, MailboxAccess, groups_of
from tidings.store.sql.accounts import next_modseq
from tidings.store.sql.database import Tx
from tidings.store.sql.mail_log import Publish, announce, lock_account, mailbox_change

ANYONE_IDENTIFIER = "anyone"


async def resolve_identifier(conn: AsyncConnection, identifier: str) -> int:
    """Principal id for an ACL identifier (ANYONE for "anyone"). Raises NotFound."""
    name = identifier.strip().lower()
    if name == ANYONE_IDENTIFIER:
        return ANYONE
    found = (
        await conn.execute(
            select(schema.addresses.c.principal_id).where(schema.addresses.c.address == name)
        )
    ).scalar_one_or_none()
    if found is None:
        principals = schema.principals
        found = (
            await conn.execute(select(principals.c.id).where(principals.c.name == name))
        ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no principal is called {identifier!r}")
    return int(found)


async def get_acl(
    conn: AsyncConnection, opened: MailboxAccess
) -> list[tuple[str, frozenset[Right]]]:
    """(identifier, rights): the owner first with every right, then entries by name."""
    acl, principals = schema.mailbox_acl, schema.principals
    owner = (
        await conn.execute(
            select(principals.c.name).where(principals.c.id == opened.mailbox.account_id)
        )
    ).scalar_one()
    rows = (
        await conn.execute(
            select(acl.c.grantee_id, acl.c.rights, principals.c.name)
            .select_from(acl.outerjoin(principals, principals.c.id == acl.c.grantee_id))
            .where(acl.c.mailbox_id == opened.mailbox.id)
        )
    ).all()
    entries = [
        (ANYONE_IDENTIFIER if int(row.grantee_id) == ANYONE else row.name, parse_rights(row.rights))
        for row in rows
        if int(row.grantee_id) == ANYONE or row.name is not None
    ]
    return [(owner, ALL_RIGHTS), *sorted(entries)]


async def set_acl(
    tx: Tx,
    opened: MailboxAccess,
    identifier: str,
    rights: frozenset[Right],
    publish: Publish,
) -> None:
    """Set (replace) one entry; empty rights remove it. Raises NotFound, InvalidInput."""
    grantee = await resolve_identifier(tx.conn, identifier)
    await lock_account(tx.conn, opened.mailbox.account_id)
    if grantee == opened.mailbox.account_id:
        raise InvalidInput("the owner always has every right", "identifier")
    acl = schema.mailbox_acl
    where = (acl.c.mailbox_id == opened.mailbox.id) & (acl.c.grantee_id == grantee)
    current = (await tx.conn.execute(select(acl.c.rights).where(where))).scalar_one_or_none()
    letters = format_rights(rights)
    if (current or "") == letters:
        return
    if not rights:
        await tx.conn.execute(delete(acl).where(where))
    elif current is None:
        await tx.conn.execute(
            insert(acl).values(mailbox_id=opened.mailbox.id, grantee_id=grantee, rights=letters)
        )
    else:
        await tx.conn.execute(update(acl).where(where).values(rights=letters))
    account = opened.mailbox.account_id
    modseq = await next_modseq(tx, account)
    await mailbox_change(tx.conn, account, modseq, opened.mailbox.id, ChangeOp.UPDATED)
    announce(tx, publish, account, modseq)


async def accessible_accounts(
    conn: AsyncConnection, actor: Principal
) -> Sequence[tuple[AccountId, str]]:
    """Other accounts where the actor sees a mailbox: by FULL_ACCESS or a lookup ACL."""
    grantees = {actor.id, ANYONE} | await groups_of(conn, actor.id)
    perms, acl = schema.permissions, schema.mailbox_acl
    found: set[int] = set(
        int(owner)
        for owner in (
            await conn.execute(
                select(perms.c.owner_id).where(
                    perms.c.grantee_id.in_(grantees - {ANYONE}),
                    perms.c.permission == Permission.FULL_ACCESS.value,
                )
            )
        ).scalars()
    )
    rows = await conn.execute(
        select(schema.mailboxes.c.account_id, acl.c.rights)
        .select_from(acl.join(schema.mailboxes, schema.mailboxes.c.id == acl.c.mailbox_id))
        .where(acl.c.grantee_id.in_(grantees))
    )
    found.update(int(account) for account, letters in rows if Right.LOOKUP.value in letters)
    found.discard(actor.id)
    if not found:
        return []
    principals = schema.principals
    named = await conn.execute(
        select(principals.c.id, principals.c.name)
        .select_from(principals.join(schema.accounts, schema.accounts.c.id == principals.c.id))
        .where(principals.c.id.in_(sorted(found)))
        .order_by(principals.c.name)
    )
    return [(AccountId(int(pid)), name) for pid, name in named]
