"""The store fixture: every test here runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import require_postgres
from tidings.store import SQLStore, open_store


async def open_test_store(backend: str, tmp_path: Path, **options: object) -> tuple[SQLStore, str]:
    """A fresh, migrated store; on PostgreSQL each test gets its own schema."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tidings.db'}"
        return await open_store(url, tmp_path / "blobs", **options), ""  # type: ignore[arg-type]
    base = require_postgres()
    schema_name = f"t_{uuid.uuid4().hex[:12]}"
    import asyncpg

    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema_name}"')
    finally:
        await conn.close()
    url = f"{base}?schema={schema_name}"
    store = await open_store(url, tmp_path / "blobs", **options)  # type: ignore[arg-type]
    return store, schema_name


async def drop_schema(schema_name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(require_postgres())
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SQLStore]:
    opened, schema_name = await open_test_store(request.param, tmp_path)
    try:
        yield opened
    finally:
        await opened.close()
        if schema_name:
            await drop_schema(schema_name)
