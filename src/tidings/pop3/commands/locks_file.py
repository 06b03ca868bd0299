"""Maildrop locks as flock(2) on one file per account, so the worker processes of
one server (`serve --workers N`) exclude each other (RFC 1939 §8) without Redis.

The kernel drops a lock when its process dies, so a killed worker never leaves a
maildrop locked. The files stay (deleting a lock file races with its next opener);
there is one small file per account that ever used POP3.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from tidings.model.ids import AccountId

log = logging.getLogger(__name__)


class FileMaildropLocks:
    """`MaildropLocks` shared by the processes that use the same `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: dict[AccountId, tuple[str, int]] = {}  # account -> (holder, fd)

    async def acquire(self, account: AccountId, holder: str) -> bool:
        held = self._held.get(account)
        if held is not None:
            if held[0] != holder:
                log.info("pop3.lock_busy account=%s", account)
            return held[0] == holder
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(
            self.folder / f"{int(account)}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            log.info("pop3.lock_busy account=%s", account)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._held[account] = (holder, fd)
        return True

    async def release(self, account: AccountId, holder: str) -> None:
        held = self._held.get(account)
        if held is None or held[0] != holder:
            return
        del self._held[account]
        os.close(held[1])  # closing the last descriptor of the file drops its lock
