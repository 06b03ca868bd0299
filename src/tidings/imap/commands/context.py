"""What every command module works with: the session, the services and the channel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from tidings.imap import commands_model as m
from tidings.imap.envelope_cache import EnvelopeCache
from tidings.imap.parser import Malformed
from tidings.imap.recent import RecentTracker
from tidings.imap.responses import Code, Response, Tagged
from tidings.imap.session import IMAPSession
from tidings.imap.snapshot import SnapshotRegistry
from tidings.model.directory import Principal
from tidings.model.ids import AccountId
from tidings.store.services import BlobStore, ChangeNotifier, DirectoryService, MailService

if TYPE_CHECKING:
    from tidings.directory.auth import Authenticator

FLUSH_BYTES = 64 * 1024


class Channel(Protocol):
    """The connection as the command layer sees it (provided by imap.server)."""

    async def send(self, data: bytes) -> None: ...

    async def read_line(self, mode: str) -> m.IdleDone | m.SASLResponse | Malformed | None:
        """One IDLE ("idle") or SASL ("sasl") line; None when the peer has gone."""


@dataclass(frozen=True, slots=True)
class Services:
    mail: MailService
    directory: DirectoryService
    blobs: BlobStore
    notifier: ChangeNotifier
    authenticator: Authenticator | None = None
    stopping: asyncio.Event | None = None
    envelopes: EnvelopeCache = field(default_factory=EnvelopeCache)
    snapshots: SnapshotRegistry = field(default_factory=SnapshotRegistry)
    recent: RecentTracker = field(default_factory=RecentTracker)


@dataclass(frozen=True, slots=True)
class Done:
    """A command's tagged outcome."""

    status: str = "OK"
    text: str = "completed"
    code: Code | None = None


class CommandError(Exception):
    """Ends a command with NO or BAD (and a code) from anywhere inside it."""

    def __init__(self, status: str, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.done = Done(status, text, Code(code) if code else None)


@dataclass(slots=True)
class Ctx:
    session: IMAPSession
    services: Services
    channel: Channel
    remote_ip: str = ""
    _out: list[bytes] = field(default_factory=list)
    _size: int = 0

    @property
    def mail(self) -> MailService:
        return self.services.mail

    @property
    def actor(self) -> Principal:
        assert self.session.principal is not None
        return self.session.principal

    @property
    def account(self) -> AccountId:
        return AccountId(self.actor.id)

    async def emit(self, response: Response) -> None:
        """Queue one response; sent in batches so big FETCHes stream."""
        data = response.encode()
        self._out.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            self._size = 0
            await self.channel.send(data)

    async def finish(self, tag: str, done: Done) -> None:
        await self.emit(Tagged(tag, done.status, done.text, done.code))
        await self.flush()
