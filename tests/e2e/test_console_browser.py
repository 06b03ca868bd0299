"""The admin console in headless Chromium (Debian's chromium driven by Playwright):
sign in with password + TOTP, add a domain and a user through the forms, then the
new user logs in over IMAP against the same running server; a domain admin does
not see another domain. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tidings.admin.auth import local_operator
from tidings.admin.service import AdminService, build_admin_service
from tidings.model.directory import Role
from tidings.server import loopback_settings, running

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "a long admin password"
USER_PASSWORD = "the new user's password"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]  # fmt: skip


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return "not here: Debian's chromium is not installed (.ci/run installs it)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "not here: the playwright package is not installed"
    return None


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Locally a missing browser skips; in CI it fails (.ci/run must install chromium).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_missing() is not None and not IN_CI, reason=str(_missing())),
]


@dataclass
class Site:
    url: str
    imap: tuple[str, int]
    service: AdminService
    hostname: str


async def enrol_admin(service: AdminService, address: str, role: Role) -> str:
    operator = local_operator("e2e")
    await service.directory.create_user(operator, address, password=PASSWORD, role=role)
    assert service.second_factor is not None
    return str(pyotp.parse_uri(await service.second_factor.enable(operator, address)).secret)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running(loopback_settings(tmp_path, "http", "imap")) as server:
        service = build_admin_service(
            server.ctx.store, server.ctx.authenticator, hostname=server.ctx.hostname
        )
        await service.directory.create_domain(local_operator("e2e"), "example.org")
        host, port = server.addresses["http"]
        yield Site(f"http://{host}:{port}", server.addresses["imap"], service, server.ctx.hostname)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    if _missing() is not None:
        pytest.fail(f"{_missing()}; CI must install it")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1200, "height": 900},
        )  # fmt: skip
        context.set_default_timeout(15_000)
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        try:
            yield context
        finally:
            await context.close()


async def sign_in(page: Any, site: Site, address: str, secret: str) -> None:
    await page.goto(site.url + "/admin/")
    assert page.url.endswith("/admin/login")
    await page.get_by_label("Address").fill(address)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(site.url + "/admin/")


def imap_login(host: str, port: int, user: str, password: str) -> tuple[str, str]:
    with imaplib.IMAP4(host, port, timeout=10) as imap:
        status, _ = imap.login(user, password)
        selected, _ = imap.select("INBOX")
        message = b"From: a@example.org\r\nSubject: hello\r\n\r\nfirst message\r\n"
        appended, _ = imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), message)
        imap.logout()
    return status, selected if appended == "OK" else appended


async def test_admin_creates_domain_and_user_who_then_logs_in_over_imap(
    site: Site, browser: Any
) -> None:
    from playwright.async_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    secret = await enrol_admin(site.service, "root@example.org", Role.GLOBAL_ADMIN)
    page = await browser.new_page()
    await sign_in(page, site, "root@example.org", secret)
    assert await page.get_by_role("heading", name="Dashboard").is_visible()
    await page.keyboard.press("Tab")  # the first stop is the skip link
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"

    await page.get_by_role("link", name="Domains").click()
    await page.get_by_label("Domain name").fill("browser.example")
    await page.get_by_role("button", name="Add domain").click()
    await page.wait_for_url(site.url + "/admin/domains/browser.example")
    assert await page.get_by_text("_dmarc.browser.example.").is_visible()
    copy = page.get_by_role("button", name="Copy the MX value for browser.example.")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == "10 " + site.hostname + "."

    await page.get_by_role("link", name="Users").click()
    await page.get_by_role("link", name="New user").click()
    await page.get_by_label("Address").fill("new@browser.example")
    await page.get_by_label("Display name").fill("New Person")
    await page.get_by_label("Password", exact=True).fill(USER_PASSWORD)
    await page.get_by_label("Repeat password").fill("something else entirely")
    await page.get_by_role("button", name="Create user").click()
    assert await page.get_by_text("the two passwords differ").is_visible()
    await page.screenshot(path=str(ARTIFACTS / "console-user-form.png"), full_page=True)
    await page.get_by_label("Password", exact=True).fill(USER_PASSWORD)
    await page.get_by_label("Repeat password").fill(USER_PASSWORD)
    await page.get_by_role("button", name="Create user").click()
    assert await page.get_by_text("Created new@browser.example.").is_visible()

    host, port = site.imap
    status, selected = await asyncio.to_thread(
        imap_login, host, port, "new@browser.example", USER_PASSWORD
    )
    assert (status, selected) == ("OK", "OK")

    await page.get_by_role("link", name="Dashboard").click()
    stored = page.locator('[data-figure="stored_last_24h"]')
    assert await stored.text_content() == "1"  # the message the new user just appended
    await page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)


async def test_domain_admin_cannot_see_another_domains_users(site: Site, browser: Any) -> None:
    operator = local_operator("e2e")
    await site.service.directory.create_domain(operator, "branch.example")
    await site.service.directory.create_user(operator, "hidden@example.org", password=PASSWORD)
    await site.service.directory.create_user(operator, "staff@branch.example", password=PASSWORD)
    secret = await enrol_admin(site.service, "boss@branch.example", Role.DOMAIN_ADMIN)
    page = await browser.new_page()
    await sign_in(page, site, "boss@branch.example", secret)
    await page.get_by_role("link", name="Users").click()
    listing = await page.locator("main").text_content()
    assert "staff@branch.example" in listing
    assert "hidden@example.org" not in listing
    assert await page.get_by_role("link", name="Audit log").count() == 0
    reply = await page.goto(site.url + "/admin/users/hidden@example.org")
    assert reply is not None and reply.status == 404


def test_chromium_is_debians_not_a_downloaded_build() -> None:
    assert shutil.which("chromium") == CHROMIUM
