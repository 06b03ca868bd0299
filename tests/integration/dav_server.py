"""A DAV server in-process on 127.0.0.1 (uvicorn on port 0) over a fresh SQLite store,
with two users, for the CalDAV and CardDAV integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from starlette.routing import Mount

from tidings.dav.router import DAVApp, routes
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher, password_secrets
from tidings.model.directory import Principal, PrincipalKind
from tidings.store import open_store
from tidings.store.services import Store
from tidings.web.app import HTTPServer, create_app

PASSWORD = "correct horse battery"
ALICE = "alice@example.test"
BOB = "bob@example.test"


@dataclass(frozen=True, slots=True)
class DAVServer:
    url: str
    store: Store
    alice: Principal
    bob: Principal


@pytest.fixture
async def dav_server(tmp_path: Path) -> AsyncIterator[DAVServer]:
    opened = await open_store(
        f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs", durability="off"
    )
    store = cast(Store, opened)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    await store.directory.create_domain("example.test")
    password_hash, scram = await password_secrets(hasher, PASSWORD, scram_iterations=4096)
    users = [
        await store.directory.create_principal(
            PrincipalKind.USER, address, password_hash=password_hash, scram_sha256=scram
        )
        for address in (ALICE, BOB)
    ]
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)

    async def healthy() -> None:
        return None

    dav_routes = routes(store.dav, store.directory, auth)
    for route in dav_routes:
        if isinstance(route, Mount) and isinstance(route.app, DAVApp):
            route.app.gal.ttl_seconds = 0  # tests change the directory and look at once
    app = create_app(healthy, routes=dav_routes)
    server = HTTPServer(app, name="http", host="127.0.0.1", port=0, grace_seconds=1)
    server.start()
    host, port = server.bound
    try:
        yield DAVServer(f"http://{host}:{port}", store, users[0], users[1])
    finally:
        await server.stop()
        await opened.close()
