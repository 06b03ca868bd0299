"""The first schema: directory, accounts, mailboxes, emails, change log, blobs, queue."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.sql import schema

VERSION = 1

TABLES = [
    "schema_version",
    "domains",
    "principals",
    "addresses",
    "group_members",
    "permissions",
    "app_passwords",
    "accounts",
    "mailboxes",
    "mailbox_acl",
    "emails",
    "mailbox_messages",
    "seen_flags",
    "changes",
    "blobs",
    "queue_messages",
    "queue_recipients",
]


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    tables = [schema.metadata.tables[name] for name in TABLES]
    await conn.run_sync(lambda c: schema.metadata.create_all(c, tables=tables))
