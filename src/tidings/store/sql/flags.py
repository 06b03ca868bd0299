"""Reading messages with their flags, mailbox counters, and STORE (RFC 9051 §6.4.6).

Flags live on the email as a JSON list of keywords, except a private \\Seen
(see `AccountAccess.private_seen`), which is a `seen_flags` row per reader.
STORE follows RFC 7162 §3.1.3 (UNCHANGEDSINCE) and RFC 4314 §4 (flags the actor
may not change are left alone; only an actor with none of s, t, w is refused).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import Right
from tidings.model.changes import ChangeOp
from tidings.model.errors import PermissionDenied
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import (
    DELETED,
    SEEN,
    FlagOperation,
    Keyword,
    MailboxStatus,
    Message,
)
from tidings.store.sql import schema
from tidings.store.sql.access import MailboxAccess
from tidings.store.sql.accounts import next_modseq
from tidings.store.sql.database import Tx
from tidings.store.sql.mail_log import (
    Publish,
    announce,
    email_change,
    lock_account,
    touch_mailbox,
)
from tidings.store.sql.mail_rows import (
    chunks,
    decode_keywords,
    encode_keywords,
    message_select,
    normalize_keywords,
    row_flags,
    to_message,
)
from tidings.store.sql.messages import flag_right

FLAG_RIGHTS = frozenset({Right.SEEN, Right.WRITE, Right.DELETE_MESSAGES})


async def message_rows(
    conn: AsyncConnection,
    access: MailboxAccess,
    uids: Sequence[UID] | None = None,
    *,
    since_uid: UID | None = None,
) -> list[Row[Any]]:
    """Membership rows of the mailbox (only `uids` if given), ordered by UID."""
    mm = schema.mailbox_messages
    base = message_select(access.account.actor_id, access.private_seen).where(
        mm.c.mailbox_id == access.mailbox.id
    )
    if since_uid is not None:
        base = base.where(mm.c.uid > since_uid)
    if uids is None:
        return list((await conn.execute(base.order_by(mm.c.uid))).all())
    rows: list[Row[Any]] = []
    for chunk in chunks(sorted(set(uids))):
        rows.extend((await conn.execute(base.where(mm.c.uid.in_(chunk)))).all())
    rows.sort(key=lambda row: int(row.uid))
    return rows


async def list_messages(
    conn: AsyncConnection, access: MailboxAccess, since_uid: UID | None
) -> list[Message]:
    rows = await message_rows(conn, access, since_uid=since_uid)
    return [to_message(row, access.private_seen) for row in rows]


async def mailbox_status(conn: AsyncConnection, access: MailboxAccess) -> MailboxStatus:
    """Counts for STATUS (RFC 9051 §6.3.11); UNSEEN from the actor's point of view."""
    messages = unseen = size = deleted = 0
    for row in await message_rows(conn, access):
        flags = row_flags(row, access.private_seen)
        messages += 1
        size += int(row.size)
        unseen += SEEN not in flags
        deleted += DELETED in flags
    return MailboxStatus(access.mailbox, messages, unseen, size, deleted)


def apply_operation(
    current: frozenset[Keyword], operation: FlagOperation, flags: frozenset[Keyword]
) -> frozenset[Keyword]:
    if operation is FlagOperation.REPLACE:
        return flags
    if operation is FlagOperation.ADD:
        return current | flags
    return current - flags


def restrict(
    current: frozenset[Keyword], wanted: frozenset[Keyword], rights: frozenset[Right]
) -> frozenset[Keyword]:
    """`wanted`, except that flags the actor may not change keep their current state."""
    kept = frozenset(k for k in current if flag_right(k) not in rights)
    return frozenset(k for k in wanted if flag_right(k) in rights) | kept


async def store_flags(
    tx: Tx,
    access: MailboxAccess,
    uids: Sequence[UID],
    operation: FlagOperation,
    flags: frozenset[Keyword],
    unchanged_since: ModSeq | None,
    publish: Publish,
) -> tuple[list[Message], list[UID]]:
    """Change flags; returns (messages whose flags changed, UIDs failing UNCHANGEDSINCE).
    Raises PermissionDenied when the actor may change no flag at all."""
    if not access.rights & FLAG_RIGHTS:
        raise PermissionDenied("this needs the 's', 'w' or 't' right on the mailbox")
    account = access.mailbox.account_id
    await lock_account(tx.conn, account)  # UNCHANGEDSINCE must hold until commit
    wanted = normalize_keywords(flags)
    failed: list[UID] = []
    planned: list[tuple[Row[Any], frozenset[Keyword]]] = []
    for row in await message_rows(tx.conn, access, uids):
        if unchanged_since is not None and int(row.modseq) > unchanged_since:
            failed.append(UID(int(row.uid)))
            continue
        current = row_flags(row, access.private_seen)
        final = restrict(current, apply_operation(current, operation, wanted), access.rights)
        if final != current:
            planned.append((row, final))
    if not planned:
        return [], failed
    modseq = await next_modseq(tx, account)
    changed: list[Message] = []
    for row, final in planned:
        await _write_flags(tx.conn, access, row, final)
        await tx.conn.execute(
            update(schema.mailbox_messages)
            .where(
                schema.mailbox_messages.c.mailbox_id == access.mailbox.id,
                schema.mailbox_messages.c.uid == row.uid,
            )
            .values(modseq=modseq)
        )
        await email_change(
            tx.conn,
            account,
            modseq,
            int(row.email_id),
            access.mailbox.id,
            int(row.uid),
            ChangeOp.UPDATED,
        )
        message = to_message(row, access.private_seen)
        changed.append(dataclasses.replace(message, flags=final, modseq=modseq))
    await touch_mailbox(tx.conn, access.mailbox.id, modseq)
    announce(tx, publish, account, modseq)
    return changed, failed


async def _write_flags(
    conn: AsyncConnection, access: MailboxAccess, row: Row[Any], final: frozenset[Keyword]
) -> None:
    stored = decode_keywords(row.keywords)
    if access.private_seen:
        # The email's own \Seen is not this reader's; keep it as it is.
        new_stored = (final - {SEEN}) | (stored & {SEEN})
        await set_private_seen(
            conn,
            int(row.email_id),
            access.account.actor_id,
            seen=SEEN in final,
            was_seen=row.seen_by is not None,
        )
    else:
        new_stored = final
    if new_stored != stored:
        await conn.execute(
            update(schema.emails)
            .where(schema.emails.c.id == row.email_id)
            .values(keywords=encode_keywords(new_stored))
        )


async def set_private_seen(
    conn: AsyncConnection, email_id: int, reader: int, *, seen: bool, was_seen: bool
) -> None:
    seen_flags = schema.seen_flags
    if seen and not was_seen:
        await conn.execute(insert(seen_flags).values(email_id=email_id, principal_id=reader))
    elif was_seen and not seen:
        await conn.execute(
            delete(seen_flags).where(
                seen_flags.c.email_id == email_id, seen_flags.c.principal_id == reader
            )
        )
