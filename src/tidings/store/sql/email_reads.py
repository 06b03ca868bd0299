"""Reading one email or blob by id: allowed when the actor may read a mailbox holding it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import Right
from tidings.model.directory import Principal
from tidings.model.errors import NotFound, PermissionDenied
from tidings.model.ids import BlobId, EmailId
from tidings.model.mail import Email
from tidings.store.sql import schema
from tidings.store.sql.access import account_access, acl_rights, require
from tidings.store.sql.mail_rows import decode_keywords, to_email, visible_flags

MAX_BLOB_CANDIDATES = 50


async def check_readable(conn: AsyncConnection, actor: Principal, row: Any) -> bool:
    """Check the actor may read this email row (lookup and read right on a mailbox
    holding it); returns whether its \\Seen is private. Raises NotFound, PermissionDenied."""
    access = await account_access(conn, actor, row.account_id)
    if access.full:
        return access.private_seen()
    mm = schema.mailbox_messages
    found = await conn.execute(select(mm.c.mailbox_id).where(mm.c.email_id == row.id))
    rights = await acl_rights(conn, access, [int(m) for m in found.scalars()])
    if any({Right.LOOKUP, Right.READ} <= r for r in rights.values()):
        return access.private_seen()
    combined: frozenset[Right] = frozenset().union(*rights.values())
    require(combined, Right.READ)  # NotFound without lookup anywhere
    raise PermissionDenied("this needs the 'r' right on a mailbox holding the email")


async def seen_by(conn: AsyncConnection, email: int, reader: int) -> bool:
    seen = schema.seen_flags
    found = await conn.execute(
        select(seen.c.email_id).where(seen.c.email_id == email, seen.c.principal_id == reader)
    )
    return found.first() is not None


async def load_email(conn: AsyncConnection, actor: Principal, email: EmailId) -> Email:
    """The email with keywords as the actor sees them. Raises NotFound, PermissionDenied."""
    row = (
        await conn.execute(select(schema.emails).where(schema.emails.c.id == email))
    ).one_or_none()
    if row is None:
        raise NotFound("no such email")
    private_seen = await check_readable(conn, actor, row)
    keywords = decode_keywords(row.keywords)
    if private_seen:
        keywords = visible_flags(keywords, True, await seen_by(conn, int(row.id), actor.id))
    return to_email(row, keywords)


async def blob_readable(conn: AsyncConnection, actor: Principal, blob_id: BlobId) -> bool:
    """Whether some email with this blob is readable by the actor (own emails first)."""
    emails = schema.emails
    rows = (
        await conn.execute(
            select(emails)
            .where(emails.c.blob_id == blob_id)
            .order_by(emails.c.account_id != actor.id, emails.c.id)
            .limit(MAX_BLOB_CANDIDATES)
        )
    ).all()
    for row in rows:
        try:
            await check_readable(conn, actor, row)
        except (NotFound, PermissionDenied):
            continue
        return True
    return False
