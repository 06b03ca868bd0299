"""Hints between the worker processes of one server (`serve --workers N`), no Redis.

Each worker binds a UNIX datagram socket `worker-<n>.sock` in the server's run
folder and sends the others short lines: `c ACCOUNT MODSEQ` (the account's change
log moved: wake IDLE, push and Ping sessions) and `q` (a message was queued for
remote delivery: wake the outbound scheduler). They are hints, like every
notification (store/changes.py): a lost one costs latency, never data. Lines are
coalesced per peer (one datagram per event-loop turn, newest modseq per account)
and kept for a retry while a busy peer's queue is full, so bursts neither flood a
peer nor get lost to a short stall.

The same channel makes two limits server-wide (docs/decisions/0009-workers.md §6):
`s N KEY` (sender KEY had N more messages accepted here), `a DELTA KEY` (open
connections for KEY, "listener address", changed by DELTA here), `z` (forget every
connection count I sent you; what follows is absolute) and `h` (I have just
started: drop what my predecessor contributed and send me your counts, answered
with `z`, `a` and `w AGES KEY` lines, AGES being how many seconds ago each message
counted for sender KEY was accepted). A peer is known by its socket's address.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from tidings.model.ids import AccountId, ModSeq
from tidings.store.changes import LocalNotifier

log = logging.getLogger(__name__)

MAX_DATAGRAM_BYTES = 8192
RETRY_SECONDS = 0.01
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107

# A restarted worker is sent at most this many sender windows, each at most this
# long (newest first): enough for any sane hourly limit, bounded in datagrams.
SYNC_MAX_SENDERS = 10_000
SYNC_MAX_AGES = 600

ChangeHandler = Callable[[AccountId, ModSeq], None]
SenderHandler = Callable[[str, int], None]  # key, messages
SenderWindowHandler = Callable[[str, list[float]], None]  # key, ages in seconds
ConnectionHandler = Callable[[int, str, int], None]  # peer index, key, delta


def socket_path(run_dir: Path, index: int) -> Path:
    return run_dir / f"worker-{index}.sock"


class _Outbox:
    """What one peer has not been sent yet."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.changes: dict[int, int] = {}  # account -> newest modseq
        self.enqueued = False
        self.hello = False
        self.senders: dict[str, int] = {}  # key -> messages accepted since the last send
        self.connections_reset = False  # send `z` before the deltas
        self.connections: dict[str, int] = {}  # key -> net change since the last send
        self.windows: list[bytes] = []  # `w` lines for a peer that has just started
        # Rendered but not sent yet (the peer's queue was full). Counts must go out
        # exactly once and in order, so these are kept as they are, not re-rendered.
        self.pending: list[bytes] = []

    def __bool__(self) -> bool:
        return bool(
            self.pending or self.changes or self.enqueued or self.hello or self.senders
            or self.connections_reset or self.connections or self.windows
        )

    def take(self) -> list[bytes]:
        """What is waiting, as datagrams in order; the coalescing state starts afresh.

        While older datagrams wait for a busy peer, new hints and counts stay in the
        coalescing state, so a long stall grows nothing but its dicts."""
        if self.pending:
            return self.pending
        lines: list[bytes] = [b"h"] if self.hello else []
        if self.connections_reset:
            lines.append(b"z")
        lines.extend(
            b"a %d %s" % (delta, key.encode()) for key, delta in self.connections.items() if delta
        )
        lines.extend(b"s %d %s" % (n, key.encode()) for key, n in self.senders.items())
        lines.extend(self.windows)
        lines.extend(b"c %d %d" % (account, modseq) for account, modseq in self.changes.items())
        if self.enqueued:
            lines.append(b"q")
        self.changes.clear()
        self.enqueued = self.hello = self.connections_reset = False
        self.senders.clear()
        self.connections.clear()
        self.windows = []
        self.pending = _pack(lines)
        return self.pending


    def discard(self) -> None:
        self.pending = []
        self.take()
        self.pending = []


def _pack(lines: list[bytes]) -> list[bytes]:
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
    For the server-wide limits: `sender_accepted` and `connections_changed` queue
    counts, `on_sender`, `on_sender_window`, `on_connections` and
    `on_connections_reset` receive them; `announce()` (once the handlers and the
    `connection_counts` and `sender_windows` providers are set) asks the others for
    their counts. Sending never awaits: counts are sent at once, hints on the next
    loop turn, and what a busy peer cannot take yet is retried later.
    """

    def __init__(self, run_dir: Path, index: int, count: int) -> None:
        self.run_dir = run_dir
        self.index = index
        self.path = socket_path(run_dir, index)
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH_BYTES:
            raise ValueError(
                f"{self.path}: the path is too long for a UNIX socket; use a shorter data_dir"
            )
        self._outboxes = {
            peer: _Outbox(str(socket_path(run_dir, peer))) for peer in range(count) if peer != index
        }
        self._peer_of = {outbox.path: peer for peer, outbox in self._outboxes.items()}
        self.on_changed: ChangeHandler | None = None
        self.on_enqueued: Callable[[], None] | None = None
        self.on_sender: SenderHandler | None = None
        self.on_sender_window: SenderWindowHandler | None = None
        self.on_connections: ConnectionHandler | None = None
        self.on_connections_reset: Callable[[int], None] | None = None
        # What a restarted peer is sent: this worker's own open connections per key,
        # and every sender window it knows (key, ages in seconds, newest first).
        self.connection_counts: Callable[[], Mapping[str, int]] | None = None
        self.sender_windows: Callable[[], Iterable[tuple[str, Sequence[float]]]] | None = None
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
        for outbox in self._outboxes.values():
            if modseq > outbox.changes.get(account, 0):
                outbox.changes[account] = modseq
        self._schedule(0.0)

    def enqueued(self) -> None:
        """Tell the other workers that the outbound queue has a new message."""
        for outbox in self._outboxes.values():
            outbox.enqueued = True
        self._schedule(0.0)

    def sender_accepted(self, key: str) -> None:
        """Tell the other workers that one more message from `key` was accepted."""
        for outbox in self._outboxes.values():
            outbox.senders[key] = outbox.senders.get(key, 0) + 1
        self._send_now()

    def connections_changed(self, key: str, delta: int) -> None:
        """Tell the other workers that this one has `delta` more connections for `key`."""
        for outbox in self._outboxes.values():
            outbox.connections[key] = outbox.connections.get(key, 0) + delta
        self._send_now()

    def announce(self) -> None:
        """Say that this worker has (re)started: the others drop what its predecessor
        told them and send it their counts. Peers not started yet are skipped; they
        announce themselves when they start."""
        for outbox in self._outboxes.values():
            outbox.hello = True
        self._schedule(0.0)

    def _welcome(self, peer: int) -> None:
        """`peer` has (re)started: whatever its predecessor counted is gone."""
        if self.on_connections_reset is not None:
            self.on_connections_reset(peer)
        outbox = self._outboxes[peer]
        if self.connection_counts is not None:
            # Deltas already sent may have reached the new peer: reset, then absolute.
            outbox.connections_reset = True
            outbox.connections = dict(self.connection_counts())
        if self.sender_windows is not None:
            outbox.windows = [
                b"w %s %s" % (
                    ",".join(f"{age:.1f}" for age in ages[:SYNC_MAX_AGES]).encode(),
                    key.encode(),
                )
                for key, ages in itertools.islice(self.sender_windows(), SYNC_MAX_SENDERS)
                if ages
            ]
        self._schedule(0.0)

    def _send_now(self) -> None:
        """Counts go out at once (a `sendto` each, no await), not on the next loop
        turn: then the peer has them before our client can read the reply that
        follows (a 250 after DATA, a greeting), so a client moving to another worker
        cannot outrun them. One datagram per event costs microseconds against the
        milliseconds of an SMTP transaction; hints stay coalesced."""
        if self._sock is None:
            return
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._send_all()

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
        for outbox in self._outboxes.values():
            if outbox and not self._send(outbox):
                retry = True
        if retry:
            self._schedule(RETRY_SECONDS)

    def _send(self, outbox: _Outbox) -> bool:
        """Send what `outbox` holds; False to try again later (the peer is busy)."""
        assert self._sock is not None
        while datagrams := outbox.take():
            while datagrams:
                try:
                    self._sock.sendto(datagrams[0], outbox.path)
                except BlockingIOError:
                    return False  # its queue is full: keep the rest, coalesce, retry
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                        log.warning("peers.send_failed peer=%s error=%s", outbox.path, exc)
                    # Not there (starting, restarting or gone): it reads the state
                    # afresh and announces itself when it starts, so these are moot.
                    self.dropped += 1
                    outbox.discard()
                    return True
                del datagrams[0]
                self.sent += 1
        return True

    def _receive(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data, sender = self._sock.recvfrom(MAX_DATAGRAM_BYTES + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("peers.receive_failed error=%s", exc)
                return
            self.received += 1
            peer = self._peer_of.get(sender) if isinstance(sender, str) else None
            for line in data.split(b"\n"):
                try:
                    self._dispatch(line, peer)
                except ValueError:
                    log.warning("peers.bad_line line=%r", line[:80])

    def _dispatch(self, line: bytes, peer: int | None) -> None:
        kind, _, rest = line.partition(b" ")
        if kind in (b"s", b"a", b"w"):
            number, _, raw_key = rest.partition(b" ")
            key = raw_key.decode("utf-8", "replace")
            if not key:
                raise ValueError("no key")
            if kind == b"s" and self.on_sender is not None:
                self.on_sender(key, int(number))
            elif kind == b"w" and self.on_sender_window is not None:
                self.on_sender_window(key, [float(age) for age in number.split(b",")])
            elif kind == b"a" and self.on_connections is not None and peer is not None:
                self.on_connections(peer, key, int(number))
        elif kind == b"z":
            if self.on_connections_reset is not None and peer is not None:
                self.on_connections_reset(peer)
        elif kind == b"h":
            if peer is not None:
                self._welcome(peer)
        elif kind == b"q":
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
