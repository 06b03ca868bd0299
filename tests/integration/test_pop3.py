"""POP3 against a real server on loopback with a real SQLite store, driven by poplib
(RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import poplib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import pytest
import trustme

from tests.unit.pop3.helpers import ScramClient
from tidings.config import default_settings
from tidings.context import ServerContext
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher, password_secrets
from tidings.mime.index import parse_headers_for_store
from tidings.model.directory import Principal, PrincipalKind
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.net.listener import Listener, ListenerConfig, as_endpoint
from tidings.pop3.commands import LocalMaildropLocks
from tidings.pop3.server import POP3Server, listeners
from tidings.store import open_store
from tidings.store.services import Store

T = TypeVar("T")
PASSWORD = "correct horse battery"
USER = "alice@example.test"

MESSAGE_1 = (
    b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: first\r\n"
    b"Message-ID: <1@example.test>\r\n\r\nHello Alice,\r\n.\r\nline three\r\n"
    b"..two dots\r\nbye\r\n"
)
MESSAGE_2 = b"From: carol@example.test\r\nSubject: second\r\n\r\nshort body\r\n"


@dataclass
class POP3Env:
    store: Store
    principal: Principal
    pop3_port: int
    pop3s_port: int
    client_tls: ssl.SSLContext
    ca_pem: Path
    locks: LocalMaildropLocks

    @property
    def account(self) -> AccountId:
        return AccountId(self.principal.id)

    async def deliver(self, raw: bytes) -> None:
        blob = await self.store.blobs.put(raw)
        headers = parse_headers_for_store(raw)
        await self.store.mail.deliver([(self.account, MailboxRole.INBOX)], blob, headers)

    async def inbox_uids(self) -> list[int]:
        mail, who = self.store.mail, self.principal
        box = await mail.find_mailbox(who, self.account, "INBOX")
        return [m.uid for m in await mail.messages(who, box.id)]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def start_env(
    tmp_path: Path, ca: trustme.CA, *, plaintext_on_loopback: bool
) -> AsyncIterator[POP3Env]:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))

    opened_store = await open_store(
        f"sqlite:///{tmp_path / 'tidings.db'}", tmp_path / "blobs", durability="off"
    )
    # cast: SQLStore's concrete services do not (yet) type-check as the Store protocol.
    store = cast(Store, opened_store)
    hasher = PasswordHasher(HashParameters.fast_for_tests())
    await store.directory.create_domain("example.test")
    password_hash, scram = await password_secrets(hasher, PASSWORD, scram_iterations=4096)
    principal = await store.directory.create_principal(
        PrincipalKind.USER, USER, password_hash=password_hash, scram_sha256=scram
    )
    settings = default_settings(tmp_path)
    settings = dataclasses.replace(
        settings,
        auth=dataclasses.replace(settings.auth, allow_plaintext_on_loopback=plaintext_on_loopback),
    )
    auth = Authenticator(store.directory, hasher=hasher, scram_iterations=4096)
    ctx = ServerContext(settings, store, auth, server_tls, asyncio.Event())
    handlers = listeners(ctx)
    opened = []
    for name, tls in (("pop3", None), ("pop3s", server_tls)):
        listener = Listener(
            ListenerConfig(name, "127.0.0.1", 0, as_endpoint(handlers[name]), ssl=tls)
        )
        await listener.start()
        opened.append(listener)
    server = getattr(as_endpoint(handlers["pop3"]).handle, "__self__", None)
    assert isinstance(server, POP3Server) and isinstance(server.locks, LocalMaildropLocks)
    locks = server.locks
    env = POP3Env(
        store, principal, opened[0].bound[0][1], opened[1].bound[0][1], client_tls, ca_pem, locks
    )
    try:
        await env.deliver(MESSAGE_1)
        await env.deliver(MESSAGE_2)
        yield env
    finally:
        for listener in opened:
            await listener.drain(2.0)
        await store.close()


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[POP3Env]:
    async for value in start_env(tmp_path, ca, plaintext_on_loopback=False):
        yield value


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking client while the server keeps serving on this loop."""
    return await asyncio.to_thread(fn)


def stls_login(env: POP3Env) -> poplib.POP3:
    pop = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    pop.stls(env.client_tls)
    pop.user(USER)
    pop.pass_(PASSWORD)
    return pop


def command(pop: poplib.POP3, line: str) -> bytes:
    """A raw command and its one-line reply (poplib has no AUTH of its own)."""
    reply: bytes = getattr(pop, "_shortcmd")(line)  # noqa: B009
    return reply


def send(pop: poplib.POP3, line: str) -> None:
    getattr(pop, "_putcmd")(line)  # noqa: B009


def response(pop: poplib.POP3) -> bytes:
    reply: bytes = getattr(pop, "_getresp")()  # noqa: B009
    return reply


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


async def test_plaintext_user_is_refused_before_stls(env: POP3Env) -> None:
    def client() -> dict[str, list[str]]:
        pop = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
        caps = pop.capa()
        with pytest.raises(poplib.error_proto, match="STLS"):
            pop.user(USER)
        pop.quit()
        return caps

    caps = await in_thread(client)
    assert "STLS" in caps and "USER" not in caps
    assert caps["SASL"] == ["SCRAM-SHA-256"]
    assert caps["EXPIRE"] == ["NEVER"] and "PIPELINING" in caps and "RESP-CODES" in caps


async def test_stat_list_uidl_top_retr_are_byte_exact(env: POP3Env) -> None:
    Long = tuple[bytes, list[bytes], int]

    def client() -> tuple[tuple[int, int], Long, Long, bytes, Long, Long, Long]:
        pop = stls_login(env)
        stat = pop.stat()
        listing = pop.list()
        uidl = pop.uidl()
        one_uid = pop.uidl(1)
        top = pop.top(1, 1)
        retr = pop.retr(1)
        retr2 = pop.retr(2)
        pop.quit()
        return stat, listing, uidl, one_uid, top, retr, retr2

    stat, listing, uidl, one_uid, top, retr, retr2 = await in_thread(client)
    sizes = (len(MESSAGE_1), len(MESSAGE_2))
    assert stat == (2, sum(sizes))
    assert listing[1] == [f"1 {sizes[0]}".encode(), f"2 {sizes[1]}".encode()]
    ids = [line.split()[1] for line in uidl[1]]
    assert len(set(ids)) == 2 and all(b"." in i for i in ids)
    assert one_uid == b"+OK 1 " + ids[0]
    header, _, body = MESSAGE_1.partition(b"\r\n\r\n")
    assert joined(top[1]) == header + b"\r\n\r\n" + body.split(b"\r\n")[0] + b"\r\n"
    assert retr[0] == f"+OK {sizes[0]} octets".encode()
    assert joined(retr[1]) == MESSAGE_1
    assert retr[2] == len(MESSAGE_1)  # poplib counts the octets after un-stuffing
    assert joined(retr2[1]) == MESSAGE_2


async def test_uidl_is_stable_across_sessions(env: POP3Env) -> None:
    def uidl() -> list[bytes]:
        pop = stls_login(env)
        result = pop.uidl()[1]
        pop.quit()
        return list(result)

    first = await in_thread(uidl)
    assert await in_thread(uidl) == first


async def test_pop3s_with_auth_plain_initial_response(env: POP3Env) -> None:
    token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()

    def client() -> tuple[bytes, tuple[int, int]]:
        pop = poplib.POP3_SSL("127.0.0.1", env.pop3s_port, context=env.client_tls, timeout=10)
        reply = command(pop, f"AUTH PLAIN {token}")
        stat = pop.stat()
        pop.quit()
        return reply, stat

    reply, stat = await in_thread(client)
    assert reply.startswith(b"+OK") and stat[0] == 2


async def test_auth_plain_with_a_wrong_password_gets_auth_code(env: POP3Env) -> None:
    token = base64.b64encode(f"\0{USER}\0wrong".encode()).decode()

    def client() -> str:
        pop = poplib.POP3_SSL("127.0.0.1", env.pop3s_port, context=env.client_tls, timeout=10)
        with pytest.raises(poplib.error_proto) as caught:
            command(pop, f"AUTH PLAIN {token}")
        pop.quit()
        return str(caught.value)

    assert "-ERR [AUTH]" in await in_thread(client)


async def test_auth_scram_sha256_over_stls(env: POP3Env) -> None:
    scram = ScramClient(USER, PASSWORD)

    def client() -> tuple[bytes, bytes, int]:
        pop = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
        pop.stls(env.client_tls)
        first = command(pop, "AUTH SCRAM-SHA-256 " + base64.b64encode(scram.first()).decode())
        assert first.startswith(b"+ ")
        send(pop, base64.b64encode(scram.final(base64.b64decode(first[2:]))).decode())
        final = response(pop)
        send(pop, "")
        done = response(pop)
        count = pop.stat()[0]
        pop.quit()
        return final, done, count

    final, done, count = await in_thread(client)
    assert base64.b64decode(final[2:]) == b"v=" + base64.b64encode(scram.server_signature)
    assert done.startswith(b"+OK") and count == 2


async def test_dele_then_quit_removes_the_message(env: POP3Env) -> None:
    def client() -> bytes:
        pop = stls_login(env)
        pop.dele(1)
        return pop.quit()

    assert await in_thread(client) == b"+OK bye (1 messages deleted)"
    uids = await env.inbox_uids()
    assert len(uids) == 1

    def again() -> list[bytes]:
        pop = stls_login(env)
        _, lines, _ = pop.retr(1)
        pop.quit()
        return lines

    assert joined(await in_thread(again)) == MESSAGE_2


async def test_dele_then_dropped_connection_keeps_everything(env: POP3Env) -> None:
    def client() -> None:
        pop = stls_login(env)
        pop.dele(1)
        pop.dele(2)
        pop.sock.close()  # vanish without QUIT

    await in_thread(client)
    for _ in range(200):
        if not env.locks.is_locked(env.account):
            break
        await asyncio.sleep(0.01)
    assert len(await env.inbox_uids()) == 2

    def count() -> int:
        pop = stls_login(env)  # the lock was released: no [IN-USE]
        n = pop.stat()[0]
        pop.quit()
        return n

    assert await in_thread(count) == 2


async def test_rset_undeletes(env: POP3Env) -> None:
    def client() -> tuple[bytes, bytes]:
        pop = stls_login(env)
        pop.dele(1)
        pop.dele(2)
        rset = pop.rset()
        return rset, pop.quit()

    rset, bye = await in_thread(client)
    assert rset.startswith(b"+OK maildrop has 2 messages")
    assert bye == b"+OK bye (0 messages deleted)"
    assert len(await env.inbox_uids()) == 2


async def test_second_session_gets_in_use(env: POP3Env) -> None:
    def client() -> str:
        first = stls_login(env)
        second = poplib.POP3_SSL("127.0.0.1", env.pop3s_port, context=env.client_tls, timeout=10)
        second.user(USER)
        with pytest.raises(poplib.error_proto) as caught:
            second.pass_(PASSWORD)
        second.quit()
        first.quit()
        third = stls_login(env)
        third.quit()
        return str(caught.value)

    assert "[IN-USE]" in await in_thread(client)


async def test_plaintext_on_loopback_when_configured(tmp_path: Path, ca: trustme.CA) -> None:
    async for env in start_env(tmp_path, ca, plaintext_on_loopback=True):
        port = env.pop3_port

        def client(port: int = port) -> tuple[int, int]:
            pop = poplib.POP3("127.0.0.1", port, timeout=10)
            pop.user(USER)
            pop.pass_(PASSWORD)
            stat = pop.stat()
            pop.quit()
            return stat

        assert (await in_thread(client))[0] == 2


async def test_bare_lf_message_goes_out_with_crlf(env: POP3Env) -> None:
    await env.deliver(b"Subject: lf\n\n.first\nsecond\n")

    def client() -> bytes:
        pop = stls_login(env)
        send(pop, "RETR 3")
        response(pop)
        raw = b""
        while not raw.endswith(b"\r\n.\r\n"):
            raw += pop.file.readline()
        pop.quit()
        return raw

    assert await in_thread(client) == b"Subject: lf\r\n\r\n..first\r\nsecond\r\n.\r\n"
