"""Incremental reads for a selected mailbox: what changed since a modseq, and the raw
bytes of many messages at once (RFC 7162 §3.1 CHANGEDSINCE semantics; RFC 9051 §7.5.1).

A session that has a mailbox selected asks for the memberships whose modseq moved
(the `ix_mailbox_messages_modseq` index) and the UIDs expunged since then (the change
log's tombstones), instead of re-reading the whole message list. FETCH of ENVELOPE or
body sections reads blobs in batches under one authorization check.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.errors import Conflict
from tidings.model.ids import UID, BlobId, ModSeq
from tidings.store.services import MessageChanges
from tidings.store.sql import schema
from tidings.store.sql.access import MailboxAccess
from tidings.store.sql.mail_log import account_modseq
from tidings.store.sql.mail_rows import chunks, message_select, to_message


async def changed_since(
    conn: AsyncConnection, access: MailboxAccess, modseq: ModSeq
) -> MessageChanges:
    """Memberships whose modseq is above `modseq` (by UID) and UIDs expunged from the
    mailbox after it, complete up to the account modseq read first. Raises Conflict if
    the change log before `modseq` was pruned (the caller must re-read the whole list)."""
    mailbox = access.mailbox
    # Read the bound first: on PostgreSQL each statement sees newer commits, so the
    # queries below may also show later changes, never miss earlier ones.
    highest, pruned = await account_modseq(conn, mailbox.account_id)
    if modseq < pruned:
        raise Conflict(f"changes before modseq {pruned} were pruned; re-read the mailbox")
    mm = schema.mailbox_messages
    query = (
        message_select(access.account.actor_id, access.private_seen)
        .where(mm.c.mailbox_id == mailbox.id, mm.c.modseq > modseq)
        .order_by(mm.c.uid)
    )
    changed = [to_message(row, access.private_seen) for row in await conn.execute(query)]
    changes = schema.changes
    gone = await conn.execute(
        select(changes.c.uid)
        .where(
            changes.c.account_id == mailbox.account_id,
            changes.c.modseq > modseq,
            changes.c.kind == ObjectKind.EMAIL.value,
            changes.c.collection_id == mailbox.id,
            changes.c.op == ChangeOp.DESTROYED.value,
            changes.c.uid.is_not(None),
        )
        .distinct()
    )
    present = {m.uid for m in changed}
    expunged = sorted({UID(int(uid)) for uid in gone.scalars()} - present)
    return MessageChanges(highest, tuple(changed), tuple(expunged))


async def blob_rows(
    conn: AsyncConnection, access: MailboxAccess, uids: Sequence[UID]
) -> list[tuple[UID, BlobId, bytes | None]]:
    """(UID, blob id, inline bytes or None when the blob lives in a file) for the
    messages of the mailbox among `uids`, ordered by UID; missing UIDs are skipped."""
    mm, emails, blobs = schema.mailbox_messages, schema.emails, schema.blobs
    joined = mm.join(emails, emails.c.id == mm.c.email_id).outerjoin(
        blobs, blobs.c.id == emails.c.blob_id
    )
    out: list[tuple[UID, BlobId, bytes | None]] = []
    for chunk in chunks(sorted(set(uids))):
        rows = await conn.execute(
            select(mm.c.uid, emails.c.blob_id, blobs.c.data)
            .select_from(joined)
            .where(mm.c.mailbox_id == access.mailbox.id, mm.c.uid.in_(chunk))
        )
        out += [
            (UID(int(r.uid)), BlobId(r.blob_id), bytes(r.data) if r.data is not None else None)
            for r in rows
        ]
    out.sort(key=lambda item: item[0])
    return out
