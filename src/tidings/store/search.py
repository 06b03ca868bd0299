"""The full-text index of emails: SQLite FTS5 or PostgreSQL tsvector (migration 0002).

Serves IMAP SEARCH TEXT/BODY/SUBJECT/FROM/TO/CC/BCC (RFC 9051 §6.4.4) and JMAP
Email/query text filters. Semantics are the same on both backends: text is cut
into words (runs of letters and digits; punctuation and "_" separate words),
case and diacritics are folded, and a query matches an email when every one of
its words occurs as a whole word in the chosen field. User text never reaches
the query language as syntax: each word becomes a quoted FTS5 phrase, or goes
through `plainto_tsquery`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncConnection

# The `field` values MailService.search_text accepts, and their index columns.
FIELD_COLUMNS: dict[str, str | None] = {
    "text": None,  # every column
    "body": "body",
    "subject": "subject",
    "from": "from_",
    "to": "to_",
    "cc": "cc",
    "bcc": "bcc",
}
INDEX_COLUMNS = ("subject", "from_", "to_", "cc", "bcc", "body")
# Very long bodies are indexed by their beginning only (tsvector is capped at 1 MiB).
MAX_INDEXED_CHARS = 200_000
# PostgreSQL refuses lexemes over 2 KiB; no one searches for such a word.
MAX_WORD_CHARS = 200

_WORD = re.compile(r"[^\W_]+")

_fts = table("email_fts", column("rowid"), *(column(name) for name in INDEX_COLUMNS))
_pg = table(
    "email_search",
    column("email_id"),
    *(column(name) for name in INDEX_COLUMNS),
    column("document"),
)

# The index inserts, built once and run with one parameter dict per email.
_FTS_INSERT = insert(_fts)
_PG_INSERT = insert(_pg).values(
    email_id=bindparam("p_email_id"),
    document=func.to_tsvector("simple", bindparam("p_document", type_=Text())),
    **{
        name: func.to_tsvector("simple", bindparam(f"p_{name}", type_=Text()))
        for name in INDEX_COLUMNS
    },
)


@dataclass(frozen=True, slots=True)
class IndexedText:
    """The searchable text of one email, per field."""

    subject: str
    from_: str
    to_: str
    cc: str
    bcc: str
    body: str

    def fields(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "from_": self.from_,
            "to_": self.to_,
            "cc": self.cc,
            "bcc": self.bcc,
            "body": self.body[:MAX_INDEXED_CHARS],
        }


def words(text: str) -> list[str]:
    """Cut text into folded words: lowercase, diacritics removed (as FTS5 unicode61)."""
    if text.isascii():
        # Most mail text: NFKD changes nothing, there are no combining marks to
        # drop, and casefold() is lower(); skipping them saves most of the work.
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return [w for w in _WORD.findall(folded) if len(w) <= MAX_WORD_CHARS]


def fts5_query(text: str) -> str | None:
    """An FTS5 query matching every word of `text`; None when it has no words.

    Each word is a double-quoted string, so operators (AND, OR, NOT, NEAR),
    column filters, `*` and `^` in user text are plain words or separators.
    """
    terms = words(text)
    if not terms:
        return None
    return " AND ".join(f'"{term}"' for term in terms)


def check_field(field: str) -> str | None:
    """The index column for `field` (None: all columns). Raises ValueError if unknown."""
    if field not in FIELD_COLUMNS:
        raise ValueError(f"unknown search field {field!r}; use one of {sorted(FIELD_COLUMNS)}")
    return FIELD_COLUMNS[field]


async def index_email(conn: AsyncConnection, dialect: str, email_id: int, doc: IndexedText) -> None:
    """Add one email to the index (in the caller's transaction)."""
    await index_emails(conn, dialect, [(email_id, doc)])


async def index_emails(
    conn: AsyncConnection, dialect: str, entries: Sequence[tuple[int, IndexedText]]
) -> None:
    """Add emails to the index in one statement (in the caller's transaction); one
    text delivered to many accounts is folded once."""
    if not entries:
        return
    folded_by_doc: dict[int, dict[str, str]] = {}
    rows: list[dict[str, object]] = []
    for email_id, doc in entries:
        folded = folded_by_doc.get(id(doc))
        if folded is None:
            folded = _fold(doc)
            folded_by_doc[id(doc)] = folded
        if dialect == "sqlite":
            rows.append({"rowid": email_id, **folded})
        else:
            row: dict[str, object] = {f"p_{name}": value for name, value in folded.items()}
            row["p_email_id"] = email_id
            row["p_document"] = " ".join(folded[name] for name in INDEX_COLUMNS)
            rows.append(row)
    await conn.execute(_FTS_INSERT if dialect == "sqlite" else _PG_INSERT, rows)


def _fold(doc: IndexedText) -> dict[str, str]:
    # Both backends index the same folded words, so both match the same way.
    return {name: " ".join(words(value)) for name, value in doc.fields().items()}


async def copy_index(conn: AsyncConnection, dialect: str, source_id: int, target_id: int) -> None:
    """Index a copied email (COPY, cross-account MOVE) like its source."""
    if dialect == "sqlite":
        columns = [_fts.c[name] for name in INDEX_COLUMNS]
        source = select(literal(target_id), *columns).where(_fts.c.rowid == source_id)
        await conn.execute(insert(_fts).from_select(["rowid", *INDEX_COLUMNS], source))
        return
    names = [*INDEX_COLUMNS, "document"]
    source = select(literal(target_id), *(_pg.c[name] for name in names)).where(
        _pg.c.email_id == source_id
    )
    await conn.execute(insert(_pg).from_select(["email_id", *names], source))


async def unindex_emails(conn: AsyncConnection, dialect: str, email_ids: Sequence[int]) -> None:
    """Drop deleted emails from the index (FTS5 tables have no foreign keys)."""
    for start in range(0, len(email_ids), 500):
        chunk = list(email_ids[start : start + 500])
        if dialect == "sqlite":
            await conn.execute(delete(_fts).where(_fts.c.rowid.in_(chunk)))
        else:
            await conn.execute(delete(_pg).where(_pg.c.email_id.in_(chunk)))


def matching_email_ids(dialect: str, field: str, query: str) -> Select[tuple[int]] | None:
    """A SELECT of the email ids whose `field` matches `query`; None when the query
    has no words (the caller decides: IMAP matches every message then).
    Raises ValueError for an unknown field."""
    column_name = check_field(field)
    if dialect == "sqlite":
        expression = fts5_query(query)
        if expression is None:
            return None
        target: ColumnElement[object] = (
            column("email_fts") if column_name is None else _fts.c[column_name]
        )
        return select(_fts.c.rowid).where(target.match(expression))
    terms = words(query)
    if not terms:
        return None
    vector = _pg.c["document" if column_name is None else column_name]
    condition = vector.op("@@")(func.plainto_tsquery("simple", " ".join(terms)))
    return select(_pg.c.email_id).where(condition)


__all__ = [
    "FIELD_COLUMNS",
    "IndexedText",
    "check_field",
    "copy_index",
    "fts5_query",
    "index_email",
    "index_emails",
    "matching_email_ids",
    "unindex_emails",
    "words",
]
