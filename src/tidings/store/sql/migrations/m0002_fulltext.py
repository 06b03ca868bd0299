"""Full-text index over emails: SQLite FTS5 or a PostgreSQL tsvector with GIN."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

VERSION = 2


async def upgrade(conn: AsyncConnection, dialect: str) -> None:
    if dialect == "sqlite":
        # rowid = emails.id; unicode61 with diacritics folded matches what users type.
        await conn.execute(
            text(
                "CREATE VIRTUAL TABLE email_fts USING fts5("
                "subject, from_, to_, cc, bcc, body, "
                "tokenize = 'unicode61 remove_diacritics 2')"
            )
        )
    else:
        await conn.execute(
            text(
                "CREATE TABLE email_search ("
                " email_id BIGINT PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,"
                " subject TSVECTOR NOT NULL, from_ TSVECTOR NOT NULL, to_ TSVECTOR NOT NULL,"
                " cc TSVECTOR NOT NULL, bcc TSVECTOR NOT NULL, body TSVECTOR NOT NULL,"
                " document TSVECTOR NOT NULL)"
            )
        )
        await conn.execute(
            text("CREATE INDEX ix_email_search_document ON email_search USING GIN (document)")
        )
    await _backfill(conn, dialect)


async def _backfill(conn: AsyncConnection, dialect: str) -> None:
    """Index emails stored before this migration by their header columns (their
    bodies are not in the database; they become searchable when re-imported)."""
    if dialect == "sqlite":
        await conn.execute(
            text(
                "INSERT INTO email_fts (rowid, subject, from_, to_, cc, bcc, body) "
                "SELECT id, subject, from_, to_, cc, bcc, '' FROM emails"
            )
        )
        return
    columns = ("subject", "from_", "to_", "cc", "bcc")
    vectors = ", ".join(f"to_tsvector('simple', lower({name}))" for name in columns)
    document = " || ' ' || ".join(f"lower({name})" for name in columns)
    await conn.execute(
        text(
            "INSERT INTO email_search (email_id, subject, from_, to_, cc, bcc, body, document) "
            f"SELECT id, {vectors}, to_tsvector('simple', ''), "
            f"to_tsvector('simple', {document}) FROM emails"
        )
    )
