"""schemathesis against /api/openapi.json: generated requests to every admin API
operation, as a global admin over a real SQLite store, never get a server error.

The server runs in this test's event loop (`tidings.server.running`); the
generated requests are sent from a worker thread, so the two never block each other.
Bounded: a few examples per operation keeps the run to seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from tidings.admin.auth import local_operator
from tidings.admin.service import build_admin_service
from tidings.model.directory import Role
from tidings.server import loopback_settings, running

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 6


async def _global_admin_token(server: Any) -> str:
    service = build_admin_service(
        server.ctx.store, server.ctx.authenticator, hostname="mail.example.org"
    )
    operator = local_operator("test")
    await service.directory.create_domain(operator, "example.org")
    principal, _ = await service.directory.create_user(
        operator, "root@example.org", password="a long test password", role=Role.GLOBAL_ADMIN
    )
    actor = await service.auth.actor(
        principal, role=principal.role, name=principal.name, remote_ip=None, via="test"
    )
    _token, secret = await service.operations.create_token(actor, "schemathesis")
    return secret


def _fuzz(base_url: str, token: str, document: dict[str, Any]) -> list[str]:
    """Run every operation's examples; returns the labels of operations that failed."""
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {token}"}
    failed: list[str] = []
    client = httpx.Client(timeout=10)
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: Any) -> None:
            response = _send(client, case.as_transport_kwargs(base_url=base_url, headers=headers))
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every failing operation, then report them all
            failed.append(f"{operation.label}: {str(exc)[:500]}")
    client.close()
    return failed


def _send(client: httpx.Client, kwargs: dict[str, Any]) -> httpx.Response:
    """Send what schemathesis generated with httpx (its `requests` transport does
    not work beside urllib3-future, which another test dependency installs)."""
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        body["content"] = kwargs["data"]
    return client.request(
        kwargs["method"], kwargs["url"], headers=kwargs.get("headers"),
        params=kwargs.get("params") or None, cookies=kwargs.get("cookies") or None, **body,
    )  # fmt: skip


@pytest.mark.slow
async def test_generated_requests_to_every_operation_get_no_server_error(
    tmp_path: Path,
) -> None:
    async with running(loopback_settings(tmp_path, "http")) as server:
        host, port = server.addresses["http"]
        token = await _global_admin_token(server)
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            document = (await client.get("/api/openapi.json")).json()
        document["servers"] = [{"url": f"http://{host}:{port}/api"}]
        failed = await asyncio.to_thread(_fuzz, f"http://{host}:{port}/api", token, document)
    assert failed == []
