"""The POP3 driver over real loopback sockets (fake mail store): STLS, idle timer,
vanished clients, pipelining."""

from __future__ import annotations

import asyncio
import poplib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, cast

import pytest
import trustme

if TYPE_CHECKING:
    from tidings.store.services import MailService

from tests.unit.pop3.helpers import FakeMail
from tests.unit.pop3.test_commands import ALICE, HASHER, FakeDirectory
from tidings.directory.auth import Authenticator
from tidings.model.ids import AccountId
from tidings.net.listener import Listener, ListenerConfig
from tidings.pop3.commands import LocalMaildropLocks
from tidings.pop3.server import POP3Config, POP3Server

USER, PASSWORD = "alice@example.test", "correct horse"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def mail() -> FakeMail:
    fake = FakeMail()
    fake.add(7, b"Subject: one\r\n\r\nfirst\r\n")
    fake.add(7, b"Subject: two\r\n\r\n.dot\r\n")
    return fake


@asynccontextmanager
async def running(server: POP3Server, implicit: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    listener = Listener(ListenerConfig("pop3", "127.0.0.1", 0, server.endpoint(), ssl=implicit))
    await listener.start()
    try:
        yield listener.bound[0][1]
    finally:
        await listener.drain(1.0)


def make_server(
    mail: FakeMail,
    tls: ssl.SSLContext | None,
    *,
    plaintext: bool = False,
    idle: float = 600.0,
    locks: LocalMaildropLocks | None = None,
) -> POP3Server:
    directory = FakeDirectory()
    directory.add(ALICE, PASSWORD)
    auth = Authenticator(directory, hasher=HASHER, scram_iterations=4096)  # type: ignore[arg-type]
    return POP3Server(cast("MailService", mail), auth, POP3Config(tls, plaintext, idle), locks)


async def test_poplib_session_over_stls(
    mail: FakeMail, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with running(make_server(mail, server_tls)) as port:

        def client() -> tuple[bytes, list[bytes], bytes]:
            pop = poplib.POP3("127.0.0.1", port, timeout=10)
            with pytest.raises(poplib.error_proto, match="STLS"):
                pop.user(USER)
            pop.stls(client_tls)
            pop.user(USER)
            pop.pass_(PASSWORD)
            _, body, _ = pop.retr(2)
            stat = pop.stat()
            pop.dele(1)
            bye = pop.quit()
            return bye, body, str(stat).encode()

        bye, body, stat = await asyncio.to_thread(client)
    assert body == [b"Subject: two", b"", b".dot"]
    assert stat == b"(2, 45)"
    assert bye == b"+OK bye (1 messages deleted)"
    assert [m.uid for m in mail.inbox[7]] == [2]
    assert "\\Seen" in mail.inbox[7][0].flags


async def test_pop3s_implicit_tls(
    mail: FakeMail, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with running(make_server(mail, server_tls), implicit=server_tls) as port:

        def client() -> list[bytes]:
            pop = poplib.POP3_SSL("127.0.0.1", port, context=client_tls, timeout=10)
            caps = pop.capa()
            pop.user(USER)
            pop.pass_(PASSWORD)
            uidl = pop.uidl()[1]
            pop.quit()
            assert "STLS" not in caps and "USER" in caps
            return list(uidl)

        assert await asyncio.to_thread(client) == [b"1 1700000000.1", b"2 1700000000.2"]


async def test_bytes_pipelined_after_stls_are_discarded(
    mail: FakeMail, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    async with running(make_server(mail, server_tls)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"STLS\r\nCAPA\r\n")
        assert await reader.readline() == b"+OK begin TLS negotiation\r\n"
        await writer.start_tls(client_tls, server_hostname="localhost")
        writer.write(b"NOOP\r\n")
        # The first reply after the handshake answers NOOP: the injected CAPA is gone.
        assert await asyncio.wait_for(reader.readline(), 5) == (
            b"-ERR command not valid before login\r\n"
        )
        writer.close()


async def test_vanished_client_deletes_nothing_and_releases_the_lock(
    mail: FakeMail, server_tls: ssl.SSLContext
) -> None:
    locks = LocalMaildropLocks()
    async with running(make_server(mail, server_tls, plaintext=True, locks=locks)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(f"USER {USER}\r\nPASS {PASSWORD}\r\nDELE 1\r\n".encode())
        for _ in range(3):
            await reader.readline()
        assert locks.is_locked(AccountId(7))
        writer.transport.abort()
        for _ in range(100):
            if not locks.is_locked(AccountId(7)):
                break
            await asyncio.sleep(0.01)
    assert not locks.is_locked(AccountId(7))
    assert len(mail.inbox[7]) == 2 and mail.calls == []


async def test_idle_timer_closes_silently_without_update(mail: FakeMail) -> None:
    locks = LocalMaildropLocks()
    async with running(make_server(mail, None, plaintext=True, idle=0.3, locks=locks)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(f"USER {USER}\r\nPASS {PASSWORD}\r\nDELE 2\r\n".encode())
        for _ in range(3):
            await reader.readline()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    assert not locks.is_locked(AccountId(7)) and len(mail.inbox[7]) == 2


async def test_pipelined_commands_are_answered_in_order(mail: FakeMail) -> None:
    async with running(make_server(mail, None, plaintext=True)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(f"USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nUIDL 2\r\nQUIT\r\n".encode())
        replies = (await asyncio.wait_for(reader.read(), 5)).split(b"\r\n")
        writer.close()
    assert replies == [
        b"+OK send PASS",
        b"+OK maildrop locked and ready, 2 messages (45 octets)",
        b"+OK 2 45",
        b"+OK 2 1700000000.2",
        b"+OK bye (0 messages deleted)",
        b"",
    ]


async def test_connection_over_the_per_ip_limit_gets_sys_temp(mail: FakeMail) -> None:
    server = make_server(mail, None, plaintext=True)
    listener = Listener(ListenerConfig("pop3", "127.0.0.1", 0, server.endpoint(), max_per_ip=1))
    await listener.start()
    try:
        port = listener.bound[0][1]
        first_reader, first = await asyncio.open_connection("127.0.0.1", port)
        assert (await first_reader.readline()).startswith(b"+OK")
        reader, second = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 5) == (
            b"-ERR [SYS/TEMP] too many connections, try again later\r\n"
        )
        first.close()
        second.close()
    finally:
        await listener.drain(1.0)
