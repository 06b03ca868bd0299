"""What each worker process of `serve --workers N` is given: its slot, the listening
sockets bound before the fork, and the worker tag on its log lines.

The supervisor binds every listener once (so port 0 and privileged ports work) and
every worker accepts on the same sockets; the kernel hands each connection to
whichever worker accepts it first.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidings.config import ListenAddress

# The kernel caps it at net.core.somaxconn; every worker sets the same value, as
# asyncio and uvicorn call listen() again on a socket they are given.
BACKLOG = 1024

Sockets = Mapping[str, Sequence[socket.socket]]  # listener name -> its bound sockets


@dataclass(frozen=True, slots=True)
class WorkerSlot:
    """One worker of `serve --workers`: which one, of how many, on which sockets."""

    index: int  # 0 runs the singleton tasks: outbound delivery, spam learning, maintenance
    count: int
    sockets: Sockets
    run_dir: Path  # the peer sockets (store/peers.py) and lock files live here

    @property
    def runs_singletons(self) -> bool:
        return self.index == 0


def bind_listeners(
    listeners: Mapping[str, ListenAddress], *, single_socket: Iterable[str] = ()
) -> dict[str, list[socket.socket]]:
    """Bind and listen on every address; names in `single_socket` get one socket (as
    the HTTP server binds), the others one per resolved address (as asyncio does).
    Raises OSError naming the listener; nothing stays bound then."""
    single = frozenset(single_socket)
    bound: dict[str, list[socket.socket]] = {}
    try:
        for name, address in listeners.items():
            try:
                bound[name] = (
                    [_bind_one(address)] if name in single else _bind_resolved(address)
                )
            except OSError as exc:
                raise OSError(exc.errno, f"listeners.{name}: cannot listen on {address}: "
                              f"{exc.strerror or exc}") from None
    except BaseException:
        close_all(bound)
        raise
    return bound


def close_all(sockets: Sockets) -> None:
    for group in sockets.values():
        for sock in group:
            sock.close()


def _bind_one(address: ListenAddress) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    return _listen(family, (address.host, address.port))


def _bind_resolved(address: ListenAddress) -> list[socket.socket]:
    infos = socket.getaddrinfo(
        address.host, address.port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    seen: set[tuple[int, tuple[Any, ...]]] = set()
    try:
        for family, _, _, _, sockaddr in infos:
            if (family, sockaddr) in seen:
                continue
            seen.add((family, sockaddr))
            sockets.append(_listen(family, sockaddr))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listen(family: int, sockaddr: tuple[Any, ...]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _WorkerTag(logging.Filter):
    """Adds `worker=LABEL` to each record's fields (after logging_setup's filter)."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def filter(self, record: logging.LogRecord) -> bool:
        fields: dict[str, str] = getattr(record, "tidings_ctx", {})
        record.tidings_ctx = {**fields, "worker": self.label}
        return True


def tag_logs(label: str) -> None:
    """Mark every line this process logs from now on with `worker=LABEL`; call after
    logging_setup.setup_logging, which installs the handlers."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_WorkerTag(label))
