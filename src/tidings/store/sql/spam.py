"""`SpamDataService` on SQLite and PostgreSQL: Bayesian token counts per scope, rule
weight overrides, per-account sender lists and the learner's change-log positions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, case, delete, func, literal, outerjoin, select
from sqlalchemy.dialects.postgresql import Insert as PGInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.changes import Change, ChangeBatch, ChangeOp, ObjectKind
from tidings.model.errors import InvalidInput, NotFound
from tidings.model.ids import AccountId, BlobId, ModSeq
from tidings.store.services import LearnerPosition, SenderListEntry, SpamLookup, SpamStats
from tidings.store.sql import schema
from tidings.store.sql.database import Database, Tx
from tidings.store.sql.mail_rows import chunks
from tidings.store.sql.types import utcnow

log = logging.getLogger(__name__)

TOK = schema.spam_tokens
TOT = schema.spam_totals
LEARNED = schema.spam_learned
WEIGHTS = schema.spam_rule_weights
SENDERS = schema.spam_senders
POS = schema.spam_learner
SENDER_KINDS = ("safe", "blocked")
TOKEN_CHUNK = 400


def _insert(conn: AsyncConnection, table: Any) -> SQLiteInsert | PGInsert:
    return sqlite_insert(table) if conn.dialect.name == "sqlite" else pg_insert(table)


def _clamped(expr: Any) -> Any:
    """Counts never go below zero (unlearning a message learned before a reset)."""
    return case((expr < 0, 0), else_=expr)


async def _add_counts(
    conn: AsyncConnection, scopes: Sequence[int], tokens: Sequence[str], spam: int, ham: int
) -> None:
    """Add (spam, ham) deltas to every token and to the totals of every scope."""
    for scope in scopes:
        rows = [{"scope": scope, "token": t, "spam": max(spam, 0), "ham": max(ham, 0)}
                for t in tokens]
        for start in range(0, len(rows), TOKEN_CHUNK):
            stmt = _insert(conn, TOK)
            stmt = stmt.on_conflict_do_update(
                index_elements=["scope", "token"],
                set_={"spam": _clamped(TOK.c.spam + spam), "ham": _clamped(TOK.c.ham + ham)},
            )
            await conn.execute(stmt, rows[start : start + TOKEN_CHUNK])
        tot = _insert(conn, TOT).values(scope=scope, spam=max(spam, 0), ham=max(ham, 0))
        tot = tot.on_conflict_do_update(
            index_elements=["scope"],
            set_={"spam": _clamped(TOT.c.spam + spam), "ham": _clamped(TOT.c.ham + ham)},
        )
        await conn.execute(tot)


# Built once (scoring runs them for every message); IN lists expand per call.
_TOKEN_COUNTS = (
    select(TOK.c.token, func.sum(TOK.c.spam), func.sum(TOK.c.ham))
    .where(TOK.c.scope.in_(bindparam("p_scopes", expanding=True)),
           TOK.c.token.in_(bindparam("p_tokens", expanding=True)))
    .group_by(TOK.c.token)
)
_TOTALS = select(func.sum(TOT.c.spam), func.sum(TOT.c.ham)).where(
    TOT.c.scope.in_(bindparam("p_scopes", expanding=True)))
_SENDERS = (
    select(SENDERS).where(SENDERS.c.account_id.in_(bindparam("p_accounts", expanding=True)))
    .order_by(SENDERS.c.pattern)
)


async def _token_counts(
    conn: AsyncConnection, scopes: Sequence[int], tokens: Sequence[str]
) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    unique = sorted(set(tokens))
    for start in range(0, len(unique), TOKEN_CHUNK):
        rows = await conn.execute(
            _TOKEN_COUNTS,
            {"p_scopes": list(scopes), "p_tokens": unique[start : start + TOKEN_CHUNK]},
        )
        for token, spam, ham in rows:
            found[token] = (int(spam or 0), int(ham or 0))
    return found


async def _totals(conn: AsyncConnection, scopes: Sequence[int]) -> tuple[int, int]:
    row = (await conn.execute(_TOTALS, {"p_scopes": list(scopes)})).one()
    return int(row[0] or 0), int(row[1] or 0)


async def _sender_lists(
    conn: AsyncConnection, accounts: Sequence[AccountId]
) -> dict[AccountId, list[SenderListEntry]]:
    found: dict[AccountId, list[SenderListEntry]] = {a: [] for a in accounts}
    for chunk in chunks(int(a) for a in accounts):
        rows = await conn.execute(_SENDERS, {"p_accounts": list(chunk)})
        for row in rows:
            account = AccountId(int(row.account_id))
            found.setdefault(account, []).append(
                SenderListEntry(account, row.pattern, row.kind, row.created_at))
    return found


class SQLSpamData:
    """Token tables are written through the group-commit writer like everything else."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def token_counts(
        self, scopes: Sequence[int], tokens: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        return await self.db.read(lambda conn: _token_counts(conn, scopes, tokens))

    async def totals(self, scopes: Sequence[int]) -> tuple[int, int]:
        return await self.db.read(lambda conn: _totals(conn, scopes))

    async def lookup(
        self, scopes: Sequence[int], tokens: Sequence[str], accounts: Sequence[AccountId],
        *, min_totals: tuple[int, int] = (0, 0),
    ) -> SpamLookup:
        async def run(conn: AsyncConnection) -> SpamLookup:
            totals = await _totals(conn, scopes)
            trained = totals[0] >= min_totals[0] and totals[1] >= min_totals[1]
            counts = await _token_counts(conn, scopes, tokens) if tokens and trained else {}
            return SpamLookup(totals, counts, await _sender_lists(conn, accounts))

        return await self.db.read(run, quick=True)

    async def learn(
        self, account: AccountId, blob_id: BlobId, tokens: Sequence[str], is_spam: bool
    ) -> bool:
        if int(account) == 0:
            return await self._learn_global(tokens, is_spam)
        scopes = (0, int(account))

        async def run(tx: Tx) -> bool:
            conn = tx.conn
            before = (await conn.execute(
                select(LEARNED.c.is_spam).where(
                    LEARNED.c.account_id == account, LEARNED.c.blob_id == blob_id)
            )).scalar_one_or_none()
            if before is not None and bool(before) == is_spam:
                return False
            if before is not None:
                # Retraining: take the message out of the class it was learned as.
                await _add_counts(conn, scopes, tokens, -1 if before else 0, 0 if before else -1)
                await conn.execute(delete(LEARNED).where(
                    LEARNED.c.account_id == account, LEARNED.c.blob_id == blob_id))
            await _add_counts(conn, scopes, tokens, 1 if is_spam else 0, 0 if is_spam else 1)
            await conn.execute(LEARNED.insert().values(
                account_id=account, blob_id=blob_id, is_spam=is_spam, learned_at=utcnow()))
            return True

        return await self.db.write(run)

    async def _learn_global(self, tokens: Sequence[str], is_spam: bool) -> bool:
        """Account 0: the global table only, no once-per-message bookkeeping (corpora)."""

        async def run(tx: Tx) -> bool:
            await _add_counts(tx.conn, (0,), tokens, 1 if is_spam else 0, 0 if is_spam else 1)
            return True

        return await self.db.write(run)

    async def rule_weights(self) -> dict[str, float]:
        async def run(conn: AsyncConnection) -> dict[str, float]:
            rows = await conn.execute(select(WEIGHTS.c.name, WEIGHTS.c.weight))
            return {name: float(weight) for name, weight in rows}

        return await self.db.read(run, quick=True)

    async def set_rule_weight(self, name: str, weight: float | None) -> None:
        if not name or len(name) > 64:
            raise InvalidInput("a rule name is 1 to 64 characters", "name")

        async def run(tx: Tx) -> None:
            await tx.conn.execute(delete(WEIGHTS).where(WEIGHTS.c.name == name))
            if weight is not None:
                await tx.conn.execute(
                    WEIGHTS.insert().values(name=name, weight=weight, updated_at=utcnow()))

        await self.db.write(run)

    async def sender_lists(
        self, accounts: Sequence[AccountId]
    ) -> dict[AccountId, list[SenderListEntry]]:
        return await self.db.read(lambda conn: _sender_lists(conn, accounts))

    async def add_sender(self, account: AccountId, pattern: str, kind: str) -> SenderListEntry:
        pattern = pattern.strip().lower()
        if kind not in SENDER_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(SENDER_KINDS)}", "kind")
        if not pattern or len(pattern) > 320 or any(c.isspace() for c in pattern):
            raise InvalidInput("expected an address or a domain", "pattern")
        now = utcnow()

        async def run(tx: Tx) -> None:
            exists = (await tx.conn.execute(
                select(schema.accounts.c.id).where(schema.accounts.c.id == account)
            )).scalar_one_or_none()
            if exists is None:
                raise NotFound("no such account")
            await tx.conn.execute(delete(SENDERS).where(
                SENDERS.c.account_id == account, SENDERS.c.pattern == pattern))
            await tx.conn.execute(SENDERS.insert().values(
                account_id=account, pattern=pattern, kind=kind, created_at=now))

        await self.db.write(run)
        return SenderListEntry(account, pattern, kind, now)

    async def remove_sender(self, account: AccountId, pattern: str) -> None:
        pattern = pattern.strip().lower()

        async def run(tx: Tx) -> int:
            result = await tx.conn.execute(delete(SENDERS).where(
                SENDERS.c.account_id == account, SENDERS.c.pattern == pattern))
            return int(result.rowcount or 0)

        if not await self.db.write(run):
            raise NotFound(f"{pattern} is not on the account's sender lists")

    async def stats(self, scope: int = 0) -> SpamStats:
        async def run(conn: AsyncConnection) -> SpamStats:
            totals = (await conn.execute(
                select(TOT.c.spam, TOT.c.ham).where(TOT.c.scope == scope))).one_or_none()
            tokens = (await conn.execute(
                select(func.count()).select_from(TOK).where(TOK.c.scope == scope))).scalar()
            spam, ham = (int(totals[0]), int(totals[1])) if totals is not None else (0, 0)
            return SpamStats(spam, ham, int(tokens or 0))

        return await self.db.read(run)

    async def learner_positions(self, limit: int = 1000) -> Sequence[LearnerPosition]:
        accounts = schema.accounts

        async def run(conn: AsyncConnection) -> list[LearnerPosition]:
            learned = func.coalesce(POS.c.modseq, literal(0))
            rows = await conn.execute(
                select(accounts.c.id, learned, accounts.c.modseq)
                .select_from(outerjoin(accounts, POS, POS.c.account_id == accounts.c.id))
                .where(accounts.c.modseq > learned)
                .order_by(accounts.c.id)
                .limit(limit)
            )
            return [LearnerPosition(AccountId(int(a)), ModSeq(int(m)), ModSeq(int(h)))
                    for a, m, h in rows]

        return await self.db.read(run)

    async def email_changes(
        self, account: AccountId, since: ModSeq, limit: int = 1000
    ) -> ChangeBatch:
        changes = schema.changes

        async def run(conn: AsyncConnection) -> ChangeBatch:
            rows = list(await conn.execute(
                select(changes)
                .where(changes.c.account_id == account, changes.c.modseq > since,
                       changes.c.kind == ObjectKind.EMAIL.value)
                .order_by(changes.c.modseq, changes.c.id)
                .limit(limit + 1)
            ))
            more = len(rows) > limit
            if more:
                # Never split one modseq: a move's two halves must be read together.
                last = int(rows[limit - 1].modseq)
                rows = [r for r in rows if int(r.modseq) < last] or rows[:limit]
            found = tuple(
                Change(AccountId(int(r.account_id)), ModSeq(int(r.modseq)), ObjectKind(r.kind),
                       int(r.object_id), r.collection_id, ChangeOp(r.op), r.uid)
                for r in rows
            )
            until = found[-1].modseq if found else since
            return ChangeBatch(account, since, until, found, more)

        return await self.db.read(run)

    async def mailbox_roles(self, account: AccountId) -> dict[int, str | None]:
        mailboxes = schema.mailboxes

        async def run(conn: AsyncConnection) -> dict[int, str | None]:
            rows = await conn.execute(select(mailboxes.c.id, mailboxes.c.role)
                                      .where(mailboxes.c.account_id == account))
            return {int(i): role for i, role in rows}

        return await self.db.read(run)

    async def email_blobs(self, email_ids: Sequence[int]) -> dict[int, BlobId]:
        emails = schema.emails

        async def run(conn: AsyncConnection) -> dict[int, BlobId]:
            found: dict[int, BlobId] = {}
            for chunk in chunks(email_ids):
                rows = await conn.execute(select(emails.c.id, emails.c.blob_id)
                                          .where(emails.c.id.in_(chunk)))
                found.update({int(i): BlobId(b) for i, b in rows})
            return found

        return await self.db.read(run)

    async def set_learner_position(self, account: AccountId, modseq: ModSeq) -> None:
        async def run(tx: Tx) -> None:
            stmt = _insert(tx.conn, POS).values(account_id=account, modseq=modseq)
            await tx.conn.execute(stmt.on_conflict_do_update(
                index_elements=["account_id"], set_={"modseq": stmt.excluded.modseq}))

        await self.db.write(run)


__all__ = ["SQLSpamData"]
