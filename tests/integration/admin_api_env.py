"""An in-process admin API over a real store, driven by httpx (shared by test_admin_api*)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.backends.conftest import drop_schema, open_test_store
from tidings.admin.auth import AdminAuth
from tidings.admin.roles import Actor
from tidings.admin.service import AdminService
from tidings.directory.admin import DirectoryAdmin
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.model.directory import Role
from tidings.store import SQLStore
from tidings.web.api import api_mount
from tidings.web.app import create_app

PASSWORD = "correct horse battery"


@dataclass
class AdminEnv:
    store: SQLStore
    service: AdminService
    client: httpx.AsyncClient
    root_token: str  # a global admin's bearer token

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def root(self) -> dict[str, str]:
        return self.bearer(self.root_token)

    async def user_with_role(
        self, address: str, role: Role, *, extra_domains: tuple[str, ...] = ()
    ) -> str:
        """Create an admin principal (and its domain if needed); returns a token for it."""
        domain = address.rsplit("@", 1)[1]
        if domain not in {d.name for d in await self.store.directory.list_domains()}:
            await self.service.directory.admin.add_domain(domain)
        principal, _ = await self.service.directory.admin.add_user(
            address, password=PASSWORD, role=role
        )
        for extra in extra_domains:
            await self.store.admin_access.add_domain_admin(principal.id, extra)
        actor = await self.service.auth.actor(
            principal, role=role, name=principal.name, remote_ip=None, via="test"
        )
        _, secret = await self.service.operations.create_token(actor, "test")
        return secret


def basic(login: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def open_env(backend: str, tmp_path: Path) -> AsyncIterator[AdminEnv]:
    store, schema_name = await open_test_store(backend, tmp_path)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    admin = DirectoryAdmin(store.directory, hasher, scram_iterations=4096)
    authenticator = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    service = AdminService(
        admin, store.queue, store.audit, store.admin_access, authenticator,
        hostname="mail.example.org",
    )  # fmt: skip

    async def healthy() -> None:
        return None

    app = create_app(healthy, routes=[api_mount(service)])
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as client:
        env = AdminEnv(store, service, client, "")
        try:
            env.root_token = await env.user_with_role("root@example.org", Role.GLOBAL_ADMIN)
            yield env
        finally:
            await store.close()
            if schema_name:
                await drop_schema(schema_name)


__all__ = ["PASSWORD", "Actor", "AdminAuth", "AdminEnv", "basic", "open_env"]
