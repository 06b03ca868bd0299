"""Thread ids (JMAP RFC 8621 §3): an email joins the thread of an email it references.

The thread of a new email is the thread of an existing email of the same account
whose Message-ID appears in its In-Reply-To or References header (In-Reply-To
first, then References from the newest); otherwise a new thread whose id is the
email's own id. A matching subject alone never joins a thread.
"""

from __future__ import annotations

import re

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.ids import AccountId
from tidings.store.sql import schema

_MSG_ID = re.compile(r"<([^<>\s]+)>")
MAX_REFERENCES = 50  # the newest ones; very long References chains add nothing

# Built once (every delivery with In-Reply-To or References runs it).
_BY_MESSAGE_ID = select(schema.emails.c.message_id, schema.emails.c.thread_id).where(
    schema.emails.c.account_id == bindparam("p_account"),
    schema.emails.c.message_id.in_(bindparam("p_ids", expanding=True)),
)


def referenced_ids(in_reply_to: str, references: str) -> list[str]:
    """Message-IDs (without angle brackets) the email refers to, nearest first."""
    ordered: list[str] = []
    for found in [*_MSG_ID.findall(in_reply_to), *reversed(_MSG_ID.findall(references))]:
        if found not in ordered:
            ordered.append(found)
    return ordered[:MAX_REFERENCES]


def message_id_forms(ids: list[str]) -> list[str]:
    """A Message-ID is stored as the header gave it, usually with angle brackets."""
    return [form for value in ids for form in (f"<{value}>", value)]


async def find_thread(
    conn: AsyncConnection, account: AccountId, in_reply_to: str, references: str
) -> int | None:
    """The thread of the nearest referenced email in the account, or None."""
    ids = referenced_ids(in_reply_to, references)
    if not ids:
        return None
    params = {"p_account": account, "p_ids": message_id_forms(ids)}
    rows = (await conn.execute(_BY_MESSAGE_ID, params)).all()
    by_id = {row.message_id.strip().strip("<>"): int(row.thread_id) for row in rows}
    for value in ids:
        if value in by_id:
            return by_id[value]
    return None
