"""Migrations: a store made at schema version 1 upgrades to the latest with its data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.backends.conftest import drop_schema, open_test_store
from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore
from tidings.store.sql import schema
from tidings.store.sql.migrations import LATEST, current_version
from tidings.store.sql.types import utcnow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def v1_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SQLStore]:
    opened, schema_name = await open_test_store(request.param, tmp_path, migrate=False)
    try:
        assert await opened.migrate(target=1) == [1]
        yield opened
    finally:
        await opened.close()
        if schema_name:
            await drop_schema(schema_name)


async def _version(store: SQLStore) -> int:
    return await store.db.read(current_version)


async def _seed_v1(conn: AsyncConnection) -> int:
    """Rows as a version-1 Tidings wrote them: a user with one message in INBOX."""
    now = utcnow()
    domain_id = (
        await conn.execute(
            schema.domains.insert()
            .values(name="old.example", created_at=now)
            .returning(schema.domains.c.id)
        )
    ).scalar_one()
    user_id = (
        await conn.execute(
            schema.principals.insert()
            .values(
                kind="user",
                name="ann@old.example",
                domain_id=domain_id,
                display_name="Ann",
                role="user",
                enabled=True,
                per_user_seen=True,
                created_at=now,
                password_hash="$argon2id$old",
            )
            .returning(schema.principals.c.id)
        )
    ).scalar_one()
    await conn.execute(
        schema.addresses.insert().values(
            address="ann@old.example", principal_id=user_id, is_primary=True
        )
    )
    await conn.execute(
        schema.accounts.insert().values(
            id=user_id, modseq=2, pruned_modseq=0, used_bytes=100, message_count=1
        )
    )
    mailbox_id = (
        await conn.execute(
            schema.mailboxes.insert()
            .values(
                account_id=user_id,
                name="INBOX",
                role="inbox",
                uid_validity=1,
                uid_next=2,
                highest_modseq=2,
            )
            .returning(schema.mailboxes.c.id)
        )
    ).scalar_one()
    email_id = (
        await conn.execute(
            schema.emails.insert()
            .values(
                account_id=user_id,
                blob_id="0" * 64,
                size=100,
                received_at=now,
                thread_id=1,
                keywords="[]",
                subject="Quarterly figures",
                from_="Bob <bob@old.example>",
            )
            .returning(schema.emails.c.id)
        )
    ).scalar_one()
    await conn.execute(
        schema.mailbox_messages.insert().values(
            mailbox_id=mailbox_id, uid=1, email_id=email_id, modseq=2, saved_at=now
        )
    )
    return int(email_id)


async def _fulltext_hits(conn: AsyncConnection, word: str) -> list[int]:
    if conn.dialect.name == "sqlite":
        rows = await conn.execute(
            text("SELECT rowid FROM email_fts WHERE email_fts MATCH :q"), {"q": f'"{word}"'}
        )
    else:
        rows = await conn.execute(
            text(
                "SELECT email_id FROM email_search WHERE document @@ plainto_tsquery('simple', :q)"
            ),
            {"q": word},
        )
    return [int(r[0]) for r in rows]


async def test_upgrading_a_version_1_store_keeps_its_data_and_indexes_it(
    v1_store: SQLStore,
) -> None:
    assert await _version(v1_store) == 1
    async with v1_store.db.engine.begin() as conn:
        email_id = await _seed_v1(conn)
    applied = await v1_store.migrate()
    assert applied == list(range(2, LATEST + 1))
    assert await _version(v1_store) == LATEST
    await v1_store.db.start()
    user = await v1_store.directory.find_principal("ANN@old.example")
    assert (user.display_name, user.kind) == ("Ann", PrincipalKind.USER)
    credential = await v1_store.directory.credential("ann@old.example")
    assert credential.password_hash == "$argon2id$old"

    async def _read(conn: AsyncConnection) -> tuple[list[str], list[int], list[int]]:
        subjects = list((await conn.execute(select(schema.emails.c.subject))).scalars())
        return subjects, await _fulltext_hits(conn, "quarterly"), await _fulltext_hits(conn, "bob")

    subjects, by_subject, by_sender = await v1_store.db.read(_read)
    assert subjects == ["Quarterly figures"]
    assert by_subject == [email_id] and by_sender == [email_id]
    # And through the mail service, as IMAP SEARCH would ask.
    inbox = await v1_store.mail.mailbox_by_role(user, AccountId(user.id), MailboxRole.INBOX)
    assert await v1_store.mail.search_text(user, inbox.id, "quarterly", field="subject") == [1]
    assert await v1_store.mail.search_text(user, inbox.id, "bob", field="from") == [1]
    assert await v1_store.mail.search_text(user, inbox.id, "figures missing") == []


async def test_upgraded_store_accepts_new_data(v1_store: SQLStore) -> None:
    await v1_store.migrate()
    await v1_store.db.start()
    await v1_store.directory.create_domain("new.example")
    user = await v1_store.directory.create_principal(PrincipalKind.USER, "b@new.example")
    assert (await v1_store.directory.get_principal(user.id)).name == "b@new.example"


async def test_migrating_twice_applies_nothing_the_second_time(v1_store: SQLStore) -> None:
    assert await v1_store.migrate() != []
    assert await v1_store.migrate() == []


async def test_a_store_newer_than_this_code_is_refused(v1_store: SQLStore) -> None:
    await v1_store.migrate()
    async with v1_store.db.engine.begin() as conn:
        await conn.execute(
            schema.schema_version.insert().values(version=LATEST + 1, applied_at=utcnow())
        )
    with pytest.raises(RuntimeError, match="newer than this Tidings"):
        await v1_store.migrate()
