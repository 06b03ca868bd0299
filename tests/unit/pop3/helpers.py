"""Test doubles for POP3: an in-memory MailService and a session driver."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from tidings.model.directory import Principal, PrincipalKind
from tidings.model.errors import NotFound
from tidings.model.ids import (
    UID,
    AccountId,
    BlobId,
    DomainId,
    EmailId,
    MailboxId,
    ModSeq,
    PrincipalId,
)
from tidings.model.mail import FlagOperation, Keyword, Mailbox, MailboxRole, Message
from tidings.pop3 import session as s
from tidings.pop3.parser import NeedData
from tidings.pop3.responses import Continuation, Reply

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def principal(pid: int = 7, name: str = "alice@example.test") -> Principal:
    return Principal(PrincipalId(pid), PrincipalKind.USER, name, DomainId(1))


@dataclass
class FakeMail:
    """Just enough of MailService for POP3: one INBOX per account."""

    uid_validity: int = 1700000000
    blobs: dict[BlobId, bytes] = field(default_factory=dict)
    inbox: dict[int, list[Message]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def add(self, account: int, data: bytes) -> Message:
        blob = BlobId(hashlib.sha256(data).hexdigest())
        self.blobs[blob] = data
        messages = self.inbox.setdefault(account, [])
        uid = UID(len(messages) + 1 if not messages else messages[-1].uid + 1)
        message = Message(
            MailboxId(account * 100),
            uid,
            EmailId(uid),
            ModSeq(1),
            frozenset(),
            len(data),
            NOW,
            NOW,
            blob,
            0,
        )
        messages.append(message)
        return message

    def _mailbox(self, account: AccountId) -> Mailbox:
        return Mailbox(
            MailboxId(account * 100),
            account,
            "INBOX",
            None,
            MailboxRole.INBOX,
            self.uid_validity,
            UID(1000),
            ModSeq(1),
        )

    async def mailbox_by_role(
        self, actor: Principal, account: AccountId, role: MailboxRole
    ) -> Mailbox:
        if int(actor.id) != int(account):
            raise NotFound("no such account")
        return self._mailbox(account)

    async def find_mailbox(self, actor: Principal, account: AccountId, name: str) -> Mailbox:
        return await self.mailbox_by_role(actor, account, MailboxRole.INBOX)

    async def messages(
        self, actor: Principal, mailbox: MailboxId, *, since_uid: UID | None = None
    ) -> Sequence[Message]:
        return list(self.inbox.get(mailbox // 100, []))

    async def read_blob(self, actor: Principal, blob_id: BlobId) -> bytes:
        if blob_id not in self.blobs:
            raise NotFound("no such blob")
        return self.blobs[blob_id]

    async def store_flags(
        self,
        actor: Principal,
        mailbox: MailboxId,
        uids: Sequence[UID],
        operation: FlagOperation,
        flags: frozenset[Keyword],
        unchanged_since: ModSeq | None = None,
    ) -> tuple[Sequence[Message], Sequence[UID]]:
        assert operation is FlagOperation.ADD
        self.calls.append(f"store {sorted(flags)} {list(uids)}")
        messages = self.inbox[mailbox // 100]
        for index, message in enumerate(messages):
            if message.uid in uids:
                messages[index] = replace(message, flags=message.flags | flags)
        return [], []

    async def expunge(
        self, actor: Principal, mailbox: MailboxId, uids: Sequence[UID] | None = None
    ) -> Sequence[UID]:
        self.calls.append(f"expunge {list(uids or [])}")
        messages = self.inbox[mailbox // 100]
        gone = [
            m.uid for m in messages if "\\Deleted" in m.flags and (uids is None or m.uid in uids)
        ]
        self.inbox[mailbox // 100] = [m for m in messages if m.uid not in gone]
        return gone


def entries(*sizes: int) -> tuple[s.MaildropEntry, ...]:
    return tuple(
        s.MaildropEntry(UID(n), f"17.{n}", size, BlobId(f"b{n}")) for n, size in enumerate(sizes, 1)
    )


Runner = Callable[[s.Request], s.Outcome]


def drive(session: s.POP3Session, data: bytes | list[bytes], runner: Runner) -> bytes:
    """Feed bytes (in chunks), run every request with `runner`, return all output."""
    # An empty chunk would mean "peer closed": only the final one does.
    chunks = [c for c in ([data] if isinstance(data, bytes) else data) if c]
    out = bytearray()
    for chunk in [*chunks, b""]:
        session.receive_data(chunk)
        out += pump(session, runner)
    return bytes(out)


def pump(session: s.POP3Session, runner: Runner) -> bytes:
    out = bytearray()
    while not session.closed:
        step = session.next_step()
        if isinstance(step, NeedData):
            break
        if isinstance(step, s.StartTLS):
            out += step.reply.encode()
            session.tls_started()
        elif isinstance(step, Reply | Continuation):
            out += step.encode()
        else:
            out += session.complete(step, runner(step)).encode()
    return bytes(out)


def opened(*sizes: int) -> Runner:
    """A runner whose login opens a maildrop of messages of these sizes."""

    def run(request: s.Request) -> s.Outcome:
        if isinstance(request, s.Login | s.SASLStart | s.SASLResponse):
            return s.Opened("alice", entries(*sizes))
        if isinstance(request, s.Fetch):
            return s.Content(b"Subject: x\r\n\r\n" + b"y" * (request.entry.size - 14))
        if isinstance(request, s.Update):
            return s.Updated(len(request.deleted))
        return s.Refused("cancelled")

    return run


class ScramClient:
    """A minimal SCRAM-SHA-256 client (RFC 5802 §3), for tests only."""

    def __init__(self, user: str, password: str, nonce: str = "clientnonce123") -> None:
        self.user, self.password, self.nonce = user, password, nonce
        self.first_bare = f"n={user},r={nonce}"
        self.server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def final(self, server_first: bytes) -> bytes:
        import base64

        from tidings.directory.scram import hmac_sha256, salted_password, sha256, xor

        fields = dict(item.split("=", 1) for item in server_first.decode().split(","))
        salted = salted_password(self.password, base64.b64decode(fields["s"]), int(fields["i"]))
        without_proof = f"c=biws,r={fields['r']}"
        auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        client_key = hmac_sha256(salted, b"Client Key")
        proof = xor(client_key, hmac_sha256(sha256(client_key), auth_message))
        self.server_signature = hmac_sha256(hmac_sha256(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
