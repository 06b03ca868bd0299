"""An in-process admin console (and API) over a real store, driven by httpx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp

from tests.backends.conftest import drop_schema, open_test_store
from tidings.admin.auth import local_operator
from tidings.admin.service import AdminService
from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.model.directory import Role
from tidings.store import SQLStore
from tidings.web.api import api_mount
from tidings.web.app import create_app
from tidings.web.console import console_mount

PASSWORD = "correct horse battery"
CLIENT_IP = "198.51.100.7"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@dataclass
class ConsoleEnv:
    store: SQLStore
    service: AdminService
    app: object
    base_url: str = "http://admin.test"

    def client(self, base_url: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(CLIENT_IP, 4242))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url=base_url or self.base_url)

    async def admin(self, address: str, role: Role, *, totp: bool = True) -> str | None:
        """Create an admin (and its domain); returns its TOTP secret if enrolled."""
        operator = local_operator("test")
        domain = address.rsplit("@", 1)[1]
        if domain not in {d.name for d in await self.store.directory.list_domains()}:
            await self.service.directory.create_domain(operator, domain)
        await self.service.directory.create_user(operator, address, password=PASSWORD, role=role)
        if not totp:
            return None
        assert self.service.second_factor is not None
        uri = await self.service.second_factor.enable(operator, address)
        return str(pyotp.parse_uri(uri).secret)


async def login(
    client: httpx.AsyncClient, address: str, secret: str | None, *, code: str | None = None,
    password: str = PASSWORD, for_time: float | None = None,
) -> httpx.Response:  # fmt: skip
    """Load the login form (for its CSRF cookie) and submit it."""
    form = await client.get("/admin/login")
    if code is None:
        assert secret is not None
        totp = pyotp.TOTP(secret)
        code = totp.at(for_time) if for_time else totp.now()
    return await client.post(
        "/admin/login",
        data={"csrf": csrf_of(form.text), "address": address, "password": password,
              "code": code},
    )  # fmt: skip


async def open_console(tmp_path: Path, backend: str = "sqlite") -> AsyncIterator[ConsoleEnv]:
    store, schema_name = await open_test_store(backend, tmp_path)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    authenticator = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    service = AdminService(
        DirectoryAdmin(store.directory, hasher, scram_iterations=4096),
        store.queue, store.audit, store.admin_access, authenticator,
        hostname="mail.example.org", console_state=store.console_state,
    )  # fmt: skip

    async def healthy() -> None:
        return None

    app = create_app(healthy, routes=[api_mount(service), console_mount(service)])
    await service.directory.create_domain(local_operator("test"), "example.org")
    try:
        yield ConsoleEnv(store, service, app)
    finally:
        await store.close()
        if schema_name:
            await drop_schema(schema_name)
