"""asyncio glue for POP3 (RFC 1939) on `pop3` (STLS, RFC 2595) and `pop3s` (RFC 8314):
read, feed, dispatch, write, idle timeout, TLS upgrade."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tidings.net.listener import Endpoint, Handler, RefuseReason
from tidings.net.stream import Stream
from tidings.pop3.commands import LocalMaildropLocks, MaildropLocks, POP3Commands, POP3Limits
from tidings.pop3.commands.auth import POP3Authenticator
from tidings.pop3.parser import NeedData
from tidings.pop3.responses import Continuation, Reply, ResponseCode, err
from tidings.pop3.session import POP3Session, SessionOptions, StartTLS

if TYPE_CHECKING:
    # Annotations only: the store package would pull in its SQL backends.
    from tidings.context import ServerContext
    from tidings.store.services import MailService

log = logging.getLogger(__name__)

READ_BYTES = 16384


async def serve(
    stream: Stream, session: POP3Session, commands: POP3Commands, tls: ssl.SSLContext | None
) -> None:
    """Run one session until QUIT, a closing error, the peer leaving or the idle timer."""
    await stream.send(session.greeting().encode())
    while not session.closed:
        step = session.next_step()
        if isinstance(step, NeedData):
            if session.closed:
                break
            try:
                async with asyncio.timeout(commands.limits.idle_seconds):
                    data = await stream.receive(READ_BYTES)
            except TimeoutError:
                # RFC 1939 §3: autologout closes without UPDATE and without a reply.
                log.info("pop3.idle_timeout")
                return
            session.receive_data(data)
        elif isinstance(step, StartTLS):
            await stream.send(step.reply.encode())
            assert tls is not None  # the session offers STLS only with a context
            try:
                await stream.start_tls(tls)
            except (ssl.SSLError, ConnectionError, OSError) as exc:
                log.info("pop3.tls_failed error=%s", type(exc).__name__)
                return
            session.tls_started()
        elif isinstance(step, Reply | Continuation):
            await stream.send(step.encode())
        else:
            outcome = await commands.run(step)  # the only await on services
            await stream.send(session.complete(step, outcome).encode())


@dataclass(frozen=True, slots=True)
class POP3Config:
    """What the POP3 listeners need beyond the services."""

    tls: ssl.SSLContext | None
    allow_plaintext_on_loopback: bool = True
    idle_seconds: float = 600.0


class POP3Server:
    """Builds a session and its command layer for each connection."""

    def __init__(
        self,
        mail: MailService,
        authenticator: POP3Authenticator,
        config: POP3Config,
        locks: MaildropLocks | None = None,
    ) -> None:
        self.mail = mail
        self.authenticator = authenticator
        self.config = config
        self.locks: MaildropLocks = locks if locks is not None else LocalMaildropLocks()

    async def handle(self, stream: Stream) -> None:
        """One connection, from greeting to close; the lock is released however it ends."""
        options = SessionOptions(
            tls_available=self.config.tls is not None,
            is_tls=stream.is_tls,
            allow_plaintext=self.config.allow_plaintext_on_loopback and stream.is_loopback,
        )
        commands = POP3Commands(
            self.mail,
            self.authenticator,
            self.locks,
            remote_ip=stream.peer.host,
            limits=POP3Limits(idle_seconds=self.config.idle_seconds),
        )
        try:
            await serve(stream, POP3Session(options), commands, self.config.tls)
        finally:
            await commands.close()

    async def refuse(self, stream: Stream, reason: RefuseReason) -> None:
        if reason is RefuseReason.SHUTTING_DOWN:
            text = "server is shutting down"
        else:
            text = "too many connections, try again later"
        await stream.send(err(text, ResponseCode.SYS_TEMP).encode())

    def endpoint(self) -> Endpoint:
        return Endpoint(handle=self.handle, refuse=self.refuse)


def listeners(ctx: ServerContext) -> dict[str, Handler]:
    """The POP3 handlers for `tidings.server.PROTOCOLS`: `pop3` (STLS) and `pop3s`."""
    settings = ctx.settings
    server = POP3Server(
        ctx.store.mail,
        ctx.authenticator,
        POP3Config(
            tls=ctx.tls,
            allow_plaintext_on_loopback=settings.auth.allow_plaintext_on_loopback,
            idle_seconds=settings.limits.idle_timeout_seconds.pop3,
        ),
        maildrop_locks(
            settings.redis.url,
            settings.server.run_dir / "pop3" if settings.server.workers > 1 else None,
        ),
    )
    endpoint = server.endpoint()
    return {"pop3": endpoint, "pop3s": endpoint}


def maildrop_locks(redis_url: str | None, lock_dir: Path | None = None) -> MaildropLocks:
    """In-process locks for one process; lock files in `lock_dir` when several worker
    processes share the node; Redis locks when nodes share a Redis."""
    if redis_url is None:
        if lock_dir is not None:
            from tidings.pop3.commands.locks_file import FileMaildropLocks

            return FileMaildropLocks(lock_dir)
        return LocalMaildropLocks()
    import redis.asyncio as aioredis

    from tidings.pop3.commands.locks_redis import RedisMaildropLocks

    return RedisMaildropLocks(aioredis.from_url(redis_url))
