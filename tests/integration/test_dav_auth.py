"""DAV authentication: Basic only over TLS (or loopback when the config allows it),
app passwords accepted, bad credentials challenged."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.dav_server import ALICE, PASSWORD, DAVServer, dav_server
from tidings.dav.router import routes
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.web.app import create_app

__all__ = ["dav_server"]

PROPFIND = """<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:current-user-principal/></D:prop></D:propfind>"""


def asgi_client(
    server: DAVServer, *, peer: str, scheme: str, allow_loopback: bool = True
) -> httpx.AsyncClient:
    """The DAV app in-process, seen from `peer` over `scheme`."""
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    auth = Authenticator(server.store.directory, hasher=hasher, scram_iterations=4096)

    async def healthy() -> None:
        return None

    app = create_app(
        healthy,
        routes=routes(
            server.store.dav,
            server.store.directory,
            auth,
            allow_plaintext_on_loopback=allow_loopback,
        ),
    )
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(
        transport=transport, base_url=f"{scheme}://dav.example.test", auth=(ALICE, PASSWORD)
    )


@pytest.mark.parametrize(
    ("peer", "scheme", "allow_loopback", "status"),
    [
        ("203.0.113.9", "https", True, 207),  # TLS: always
        ("203.0.113.9", "http", True, 403),  # clear text from afar: never
        ("127.0.0.1", "http", True, 207),  # loopback, allowed by the config
        ("::1", "http", True, 207),
        ("127.0.0.1", "http", False, 403),  # loopback, but the config says no
    ],
)
async def test_basic_auth_needs_tls_unless_loopback_is_allowed(
    dav_server: DAVServer, peer: str, scheme: str, allow_loopback: bool, status: int
) -> None:
    async with asgi_client(
        dav_server, peer=peer, scheme=scheme, allow_loopback=allow_loopback
    ) as client:
        answer = await client.request("PROPFIND", "/dav/", content=PROPFIND)
    assert answer.status_code == status
    if status == 403:
        assert "TLS" in answer.text and ALICE not in answer.text


async def test_app_password_logs_in_and_wrong_password_is_challenged(
    dav_server: DAVServer,
) -> None:
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    secret = "app-secret-for-my-phone"
    await dav_server.store.directory.add_app_password(
        dav_server.alice.id, "phone", await hasher.hash(secret)
    )
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, secret)) as phone:
        answer = await phone.request("PROPFIND", "/dav/", content=PROPFIND)
        assert answer.status_code == 207
        assert f"/dav/principals/{ALICE}/" in answer.text
    async with httpx.AsyncClient(base_url=dav_server.url, auth=(ALICE, "wrong")) as bad:
        refused = await bad.request("PROPFIND", "/dav/", content=PROPFIND)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    listed = await dav_server.store.directory.list_app_passwords(dav_server.alice.id)
    assert listed[0].last_used_at is not None
