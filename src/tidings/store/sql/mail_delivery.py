"""System delivery: one message into many accounts in one transaction (one group commit).

Each recipient account gets its own email row in the requested mailbox (a role
or a full name), or INBOX when that does not exist. An account over its quota,
or gone, gets no copy: it is missing from the result and the caller bounces or
defers for it, while the other recipients still get theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.errors import NotFound
from tidings.model.ids import AccountId
from tidings.model.mail import Keyword, Mailbox, MailboxRole
from tidings.store.services import BlobRef, DeliveredTo, ParsedHeaders
from tidings.store.sql import schema
from tidings.store.sql.database import Tx
from tidings.store.sql.mail_log import Publish, QuotaState, lock_account
from tidings.store.sql.mail_rows import to_mailbox
from tidings.store.sql.mailboxes import find_by_name
from tidings.store.sql.messages import Placement, draft_from_headers, place

log = logging.getLogger(__name__)


# The mailbox row with a role, built once (most deliveries go to the INBOX role).
_BY_ROLE = (
    select(schema.mailboxes)
    .where(
        schema.mailboxes.c.account_id == bindparam("p_account"),
        schema.mailboxes.c.role == bindparam("p_role"),
    )
    .order_by(schema.mailboxes.c.id)
    .limit(1)
)


async def delivery_mailbox(
    conn: AsyncConnection, account: AccountId, target: MailboxRole | str
) -> Mailbox:
    """The mailbox a delivery goes to: the role or name asked for, else INBOX.
    Raises NotFound when the account has no INBOX (or does not exist)."""
    if isinstance(target, MailboxRole):
        # One statement for the common case: the row of the first mailbox with the role.
        row = (
            await conn.execute(_BY_ROLE, {"p_account": account, "p_role": target.value})
        ).one_or_none()
        if row is not None:
            return to_mailbox(row)
        found = await find_by_name(conn, account, "INBOX")
    else:
        try:
            found = await find_by_name(conn, account, target)
        except NotFound:
            found = await find_by_name(conn, account, "INBOX")
    row = (await conn.execute(select(schema.mailboxes).where(schema.mailboxes.c.id == found))).one()
    return to_mailbox(row)


async def deliver_copies(
    tx: Tx,
    accounts: Sequence[tuple[AccountId, MailboxRole | str]],
    blob: BlobRef,
    headers: ParsedHeaders,
    keywords: frozenset[Keyword],
    publish: Publish,
) -> list[DeliveredTo]:
    """One copy per (account, mailbox) pair that exists and fits its quota."""
    states: dict[AccountId, QuotaState | None] = {}
    # Lock in id order so concurrent deliveries never wait on each other in a cycle.
    for account in sorted({a for a, _target in accounts}):
        try:
            states[account] = await lock_account(tx.conn, account)
        except NotFound:
            states[account] = None
    pending: dict[AccountId, int] = {}
    placements: list[Placement] = []
    # One draft for every copy: the headers are read and the text folded once.
    draft = draft_from_headers(blob, headers, keywords, None)
    for account, target in accounts:
        state = states[account]
        if state is None:
            log.warning("mail.deliver_skipped account=%d reason=no_account", account)
            continue
        if not state.fits(pending.get(account, 0) + blob.size):
            log.info("mail.deliver_skipped account=%d reason=over_quota", account)
            continue
        try:
            mailbox = await delivery_mailbox(tx.conn, account, target)
        except NotFound:
            log.warning("mail.deliver_skipped account=%d reason=no_inbox", account)
            continue
        pending[account] = pending.get(account, 0) + blob.size
        placements.append(Placement(mailbox, draft))
    appended = await place(tx, placements, publish, enforce_quota=False)
    return [DeliveredTo(p.mailbox.account_id, a) for p, a in zip(placements, appended, strict=True)]
