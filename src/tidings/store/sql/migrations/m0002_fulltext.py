"""Full-text index over emails: SQLite FTS5 or a PostgreSQL tsvector with GIN."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

VERSION = 2


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    if dialect == "sqlite":
        # rowid = emails.id; unicode61 with diacritics folded matches what users type.
        await conn.execute(text(
            "CREATE VIRTUAL TABLE email_fts USING fts5("
            "subject, from_, to_, cc, bcc, body, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        ))
    else:
        await conn.execute(text(
            "CREATE TABLE email_search ("
            " email_id BIGINT PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,"
            " subject TSVECTOR NOT NULL, from_ TSVECTOR NOT NULL, to_ TSVECTOR NOT NULL,"
            " cc TSVECTOR NOT NULL, bcc TSVECTOR NOT NULL, body TSVECTOR NOT NULL,"
            " document TSVECTOR NOT NULL)"
        ))
        await conn.execute(text(
            "CREATE INDEX ix_email_search_document ON email_search USING GIN (document)"
        ))
