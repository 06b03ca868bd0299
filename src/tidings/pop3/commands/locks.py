"""Maildrop locks: one POP3 session per maildrop at a time (RFC 1939 §8, "exclusive-access").

The in-process table serves one node. With several nodes the same interface is
backed by Redis: `SET tidings:pop3:lock:{account} {node}:{session} NX PX 120000`
to take the lock, a task that renews the expiry (PEXPIRE) every 40 seconds while the
session lives, and a compare-and-delete Lua script to release it only if the value
is still ours; a node that dies loses its locks when the expiry runs out.
"""

from __future__ import annotations

import logging
from typing import Protocol

from tidings.model.ids import AccountId

log = logging.getLogger(__name__)


class MaildropLocks(Protocol):
    async def acquire(self, account: AccountId, holder: str) -> bool:
        """Take the lock for `account`; False if another holder has it."""

    async def release(self, account: AccountId, holder: str) -> None:
        """Give the lock back; a no-op unless `holder` holds it."""


class LocalMaildropLocks:
    """Locks held in this process: enough for one node (the embedded default)."""

    def __init__(self) -> None:
        self._held: dict[AccountId, str] = {}

    async def acquire(self, account: AccountId, holder: str) -> bool:
        current = self._held.get(account)
        if current is not None and current != holder:
            log.info("pop3.lock_busy account=%s", account)
            return False
        self._held[account] = holder
        return True

    async def release(self, account: AccountId, holder: str) -> None:
        if self._held.get(account) == holder:
            del self._held[account]

    def is_locked(self, account: AccountId) -> bool:
        return account in self._held
