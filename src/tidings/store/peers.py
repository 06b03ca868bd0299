"""Hints between the worker processes of one server (`serve --workers N`), no Redis.

Each worker binds a UNIX datagram socket `worker-<n>.sock` in the server's run
folder and sends the others short lines: `c ACCOUNT MODSEQ` (the account's change
log moved: wake IDLE, push and Ping sessions) and `q` (a message was queued for
remote delivery: wake the outbound scheduler). They are hints, like every
notification (store/changes.py): a lost one costs latency, never data. Lines are
coalesced per peer (one datagram per event-loop turn, newest modseq per account)
and kept for a retry while a busy peer's queue is full, so bursts neither flood a
peer nor get lost to a short stall.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

from tidings.model.ids import AccountId, ModSeq
from tidings.store.changes import LocalNotifier

log = logging.getLogger(__name__)

MAX_DATAGRAM_BYTES = 8192
RETRY_SECONDS = 0.01
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107

ChangeHandler = Callable[[AccountId, ModSeq], None]


def socket_path(run_dir: Path, index: int) -> Path:
    return run_dir / f"worker-{index}.sock"


class _Outbox:
    """What one peer has not been sent yet."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.changes: dict[int, int] = {}  # account -> newest modseq
        self.enqueued = False

    def __bool__(self) -> bool:
        return bool(self.changes) or self.enqueued

    def datagrams(self) -> list[bytes]:
        lines = [f"c {account} {modseq}".encode() for account, modseq in self.changes.items()]
        if self.enqueued:
            lines.append(b"q")
        out: list[bytes] = []
        current: list[bytes] = []
        size = 0
        for line in lines:
            if current and size + len(line) + 1 > MAX_DATAGRAM_BYTES:
                out.append(b"\n".join(current))
                current, size = [], 0
            current.append(line)
            size += len(line) + 1
        if current:
            out.append(b"\n".join(current))
        return out


class PeerBus:
    """This worker's end of the hint channel between `count` workers.

    `start()` (in the running loop) binds the socket; `changed` and `enqueued` queue
    hints for every other worker; `on_changed` and `on_enqueued` receive theirs.
    """

    def __init__(self, run_dir: Path, index: int, count: int) -> None:
        self.run_dir = run_dir
        self.index = index
        self.path = socket_path(run_dir, index)
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH_BYTES:
            raise ValueError(
                f"{self.path}: the path is too long for a UNIX socket; use a shorter data_dir"
            )
        self._outboxes = [
            _Outbox(str(socket_path(run_dir, peer))) for peer in range(count) if peer != index
        ]
        self.on_changed: ChangeHandler | None = None
        self.on_enqueued: Callable[[], None] | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush: asyncio.Handle | None = None
        self.sent = 0
        self.received = 0
        self.dropped = 0

    def start(self) -> None:
        """Bind our socket (replacing a predecessor's) and start receiving."""
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            self.path.unlink(missing_ok=True)  # a dead predecessor's socket
            sock.bind(str(self.path))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._receive)

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            self.path.unlink(missing_ok=True)

    def changed(self, account: AccountId, modseq: ModSeq) -> None:
        """Tell the other workers that `account` is now at `modseq`."""
        for outbox in self._outboxes:
            if modseq > outbox.changes.get(account, 0):
                outbox.changes[account] = modseq
        self._schedule(0.0)

    def enqueued(self) -> None:
        """Tell the other workers that the outbound queue has a new message."""
        for outbox in self._outboxes:
            outbox.enqueued = True
        self._schedule(0.0)

    def _schedule(self, delay: float) -> None:
        if self._flush is not None or self._sock is None or self._loop is None:
            return
        if delay:
            self._flush = self._loop.call_later(delay, self._send_all)
        else:
            self._flush = self._loop.call_soon(self._send_all)

    def _send_all(self) -> None:
        self._flush = None
        if self._sock is None:
            return
        retry = False
        for outbox in self._outboxes:
            if outbox and not self._send(outbox):
                retry = True
        if retry:
            self._schedule(RETRY_SECONDS)

    def _send(self, outbox: _Outbox) -> bool:
        """Send what `outbox` holds; False to try again later (the peer is busy)."""
        assert self._sock is not None
        for datagram in outbox.datagrams():
            try:
                self._sock.sendto(datagram, outbox.path)
            except BlockingIOError:
                return False  # its queue is full: keep the hints, coalesce, retry
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                    log.warning("peers.send_failed peer=%s error=%s", outbox.path, exc)
                # Not there (starting, restarting or gone): it reads the state
                # afresh when it starts, so these hints are moot.
                self.dropped += 1
                break
            self.sent += 1
        outbox.changes.clear()
        outbox.enqueued = False
        return True

    def _receive(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(MAX_DATAGRAM_BYTES + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("peers.receive_failed error=%s", exc)
                return
            self.received += 1
            for line in data.split(b"\n"):
                self._dispatch(line)

    def _dispatch(self, line: bytes) -> None:
        kind, _, rest = line.partition(b" ")
        if kind == b"q":
            if self.on_enqueued is not None:
                self.on_enqueued()
        elif kind == b"c":
            account, _, modseq = rest.partition(b" ")
            try:
                hint = AccountId(int(account)), ModSeq(int(modseq))
            except ValueError:
                log.warning("peers.bad_line line=%r", line[:80])
                return
            if self.on_changed is not None:
                self.on_changed(*hint)
        else:
            log.warning("peers.bad_line line=%r", line[:80])


class PeerNotifier(LocalNotifier):
    """Local delivery plus the peer channel: a commit in one worker wakes the
    IDLE, push and Ping sessions of every worker."""

    def __init__(self, bus: PeerBus) -> None:
        super().__init__()
        self.bus = bus
        bus.on_changed = super().publish  # a peer's commit: wake our sessions only

    def publish(self, account: AccountId, modseq: ModSeq) -> None:
        super().publish(account, modseq)
        self.bus.changed(account, modseq)


__all__ = ["PeerBus", "PeerNotifier", "socket_path"]
