"""Group commit: concurrent writers share commits, a failing writer undoes only itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.errors import Conflict
from tidings.store import SQLStore
from tidings.store.sql import schema
from tidings.store.sql.database import Tx
from tidings.store.sql.types import utcnow


def _insert_domain(name: str, *, fail: bool = False) -> Callable[[Tx], Awaitable[str]]:
    async def _write(tx: Tx) -> str:
        await tx.conn.execute(schema.domains.insert().values(name=name, created_at=utcnow()))
        if fail:
            raise Conflict(f"{name} refused after its insert")
        return name

    return _write


async def _domains(store: SQLStore) -> set[str]:
    async def _read(conn: AsyncConnection) -> set[str]:
        return set((await conn.execute(select(schema.domains.c.name))).scalars())

    return await store.db.read(_read)


async def test_fifty_concurrent_writes_share_fewer_commits(store: SQLStore) -> None:
    commits, writes = store.db.commits, store.db.writes
    names = [f"d{i}.example" for i in range(50)]
    results = await asyncio.gather(*(store.db.write(_insert_domain(n)) for n in names))
    assert results == names
    assert store.db.writes - writes == 50
    assert store.db.commits - commits < 50
    assert await _domains(store) == set(names)


async def test_one_failing_writer_does_not_undo_the_others(store: SQLStore) -> None:
    writes = [store.db.write(_insert_domain(f"d{i}.example", fail=(i == 7))) for i in range(20)]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[7], Conflict)
    assert [r for i, r in enumerate(results) if i != 7] == [
        f"d{i}.example" for i in range(20) if i != 7
    ]
    assert await _domains(store) == {f"d{i}.example" for i in range(20) if i != 7}


async def test_a_writer_hitting_a_database_error_fails_alone(store: SQLStore) -> None:
    await store.db.write(_insert_domain("taken.example"))
    results = await asyncio.gather(
        store.db.write(_insert_domain("a.example")),
        store.db.write(_insert_domain("taken.example")),
        store.db.write(_insert_domain("b.example")),
        return_exceptions=True,
    )
    assert results[0] == "a.example" and results[2] == "b.example"
    assert isinstance(results[1], Exception)
    assert await _domains(store) == {"taken.example", "a.example", "b.example"}


async def test_after_commit_callbacks_run_only_for_committed_writers(store: SQLStore) -> None:
    ran: list[str] = []

    def _with_callback(name: str, fail: bool) -> Callable[[Tx], Awaitable[None]]:
        async def _write(tx: Tx) -> None:
            tx.after_commit(lambda: ran.append(name))
            await tx.conn.execute(schema.domains.insert().values(name=name, created_at=utcnow()))
            if fail:
                raise Conflict("no")

        return _write

    await asyncio.gather(
        store.db.write(_with_callback("ok.example", False)),
        store.db.write(_with_callback("bad.example", True)),
        return_exceptions=True,
    )
    assert ran == ["ok.example"]


async def test_a_write_is_visible_to_a_new_reader_when_it_returns(store: SQLStore) -> None:
    for i in range(5):
        await store.db.write(_insert_domain(f"seq{i}.example"))
        assert f"seq{i}.example" in await _domains(store)


async def test_without_group_commit_every_write_commits_alone(store: SQLStore) -> None:
    store.db.group_commit = False
    commits = store.db.commits
    await asyncio.gather(*(store.db.write(_insert_domain(f"s{i}.example")) for i in range(10)))
    assert store.db.commits - commits == 10
    assert len(await _domains(store)) == 10

