"""Shared fixtures: which database backends this run can use."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

import pytest

PG_URL = os.environ.get("TIDINGS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_reachable() -> bool:
    host_port = PG_URL.split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 5432)), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> str:
    """The PostgreSQL URL, or skip (locally) / fail (in CI) when it is not running."""
    if postgres_reachable():
        return PG_URL
    message = f"PostgreSQL is not reachable at {PG_URL} (set TIDINGS_TEST_PG or start it)"
    if IN_CI:
        pytest.fail(message + "; CI must run the PostgreSQL tier")
    pytest.skip(message)


REDIS_URL = os.environ.get("TIDINGS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    host_port = REDIS_URL.split("://", 1)[-1].split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=1):
            return True
    except OSError:
        return False


def require_redis() -> str:
    """The Redis URL, or skip (locally) / fail (in CI) when it is not running."""
    if redis_reachable():
        return REDIS_URL
    message = f"Redis is not reachable at {REDIS_URL} (set TIDINGS_TEST_REDIS or start it)"
    if IN_CI:
        pytest.fail(message + "; CI must run the Redis tests")
    pytest.skip(message)



def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.needs_program("mbsync", package="isync")`: skip locally when a
    client program is missing; fail in CI, where .ci/run installs it, so a broken
    install cannot pass as a skip."""
    import shutil

    for mark in item.iter_markers("needs_program"):
        missing = [name for name in mark.args if shutil.which(name) is None]
        if missing:
            package = mark.kwargs["package"]
            message = f"{', '.join(missing)} not installed (Debian package {package})"
            if IN_CI:
                pytest.fail(message + "; .ci/run must install it")
            pytest.skip(message)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`tidings` commands run in-process (main([...])) install a root handler on the
    captured stderr; put the root logger back as it was after every test."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
