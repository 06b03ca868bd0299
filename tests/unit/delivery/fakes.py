"""In-memory stand-ins for the directory, mail, queue and blob services delivery uses."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from tidings.model.directory import Domain, Permission, Principal, PrincipalKind
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
    QueueId,
)
from tidings.model.mail import Appended, Mailbox, MailboxRole, Quota
from tidings.model.queue import QueuedMessage, QueueRecipient, RecipientState
from tidings.store.services import (
    BlobRef,
    BlobStore,
    DeliveredTo,
    DirectoryService,
    MailService,
    NewMessage,
    ParsedHeaders,
    QueueService,
    StagedBlob,
)


@dataclass
class FakeDirectory:
    domains: dict[str, Domain] = field(default_factory=dict)
    principals: dict[PrincipalId, Principal] = field(default_factory=dict)
    addresses: dict[str, PrincipalId] = field(default_factory=dict)
    members: dict[PrincipalId, list[PrincipalId]] = field(default_factory=dict)
    grants: list[tuple[PrincipalId, PrincipalId, Permission]] = field(default_factory=list)

    def add_domain(self, name: str, catch_all: PrincipalId | None = None) -> None:
        self.domains[name] = Domain(DomainId(len(self.domains) + 1), name, catch_all)

    def add(self, address: str, kind: PrincipalKind = PrincipalKind.USER, *,
            enabled: bool = True, quota: int | None = None) -> Principal:
        pid = PrincipalId(len(self.principals) + 1)
        principal = Principal(pid, kind, address, DomainId(1), enabled=enabled, quota_bytes=quota)
        self.principals[pid] = principal
        self.addresses[address] = pid
        return principal

    async def get_domain(self, name: str) -> Domain:
        if name not in self.domains:
            raise NotFound(name)
        return self.domains[name]

    async def find_principal(self, address: str) -> Principal:
        pid = self.addresses.get(address.lower())
        if pid is None:
            raise NotFound(address)
        return self.principals[pid]

    async def get_principal(self, principal_id: PrincipalId) -> Principal:
        return self.principals[principal_id]

    async def list_aliases(self, principal_id: PrincipalId) -> Sequence[str]:
        name = self.principals[principal_id].name
        return [a for a, pid in self.addresses.items() if pid == principal_id and a != name]

    async def expand_group(self, group_id: PrincipalId) -> Sequence[Principal]:
        seen: set[PrincipalId] = set()
        out: list[Principal] = []

        def walk(gid: PrincipalId) -> None:
            for member in self.members.get(gid, []):
                if member in seen:
                    continue
                seen.add(member)
                principal = self.principals[member]
                if principal.kind is PrincipalKind.GROUP:
                    walk(member)
                else:
                    out.append(principal)

        walk(group_id)
        return out

    async def permissions_of(
        self, grantee_id: PrincipalId
    ) -> Sequence[tuple[PrincipalId, Permission]]:
        return [(owner, perm) for owner, grantee, perm in self.grants if grantee == grantee_id]


@dataclass
class FakeMail:
    folders: dict[AccountId, set[str]] = field(default_factory=dict)
    usage: dict[AccountId, int] = field(default_factory=dict)
    limits: dict[AccountId, int] = field(default_factory=dict)
    deliveries: list[tuple[list[tuple[AccountId, MailboxRole | str]], BlobRef]] = field(
        default_factory=list)
    appended: list[tuple[Principal, NewMessage]] = field(default_factory=list)
    refuse_accounts: set[AccountId] = field(default_factory=set)
    blob_store: FakeBlobs | None = None

    async def find_mailbox(self, actor: Principal, account: AccountId, name: str) -> Mailbox:
        if name not in self.folders.get(account, set()):
            raise NotFound(name)
        return _mailbox(account, name, None)

    async def mailbox_by_role(self, actor: Principal, account: AccountId,
                              role: MailboxRole) -> Mailbox:
        return _mailbox(account, "Sent", role)

    async def quota(self, actor: Principal, account: AccountId) -> Quota:
        return Quota(self.usage.get(account, 0), self.limits.get(account), 0)

    async def deliver(self, accounts: Sequence[tuple[AccountId, MailboxRole | str]],
                      blob: BlobRef | StagedBlob, headers: ParsedHeaders,
                      keywords: frozenset[str] = frozenset()) -> list[DeliveredTo]:
        if isinstance(blob, StagedBlob):
            # The real store writes the row in the delivery's commit.
            if self.blob_store is not None:
                await self.blob_store.record(blob)
            blob = blob.ref
        self.deliveries.append((list(accounts), blob))
        return [DeliveredTo(a, _appended()) for a, _ in accounts if a not in self.refuse_accounts]

    async def append(self, actor: Principal, message: NewMessage) -> Appended:
        self.appended.append((actor, message))
        return _appended()


def _mailbox(account: AccountId, name: str, role: MailboxRole | None) -> Mailbox:
    return Mailbox(MailboxId(7), account, name, None, role, 1, UID(1), ModSeq(1))


def _appended() -> Appended:
    return Appended(MailboxId(1), 1, UID(1), EmailId(1), ModSeq(1))


@dataclass
class FakeQueue:
    enqueued: list[QueuedMessage] = field(default_factory=list)

    async def enqueue(self, sender: str, recipients: Sequence[str], blob: BlobRef, *,
                      submitted_by: PrincipalId | None = None, dsn_ret: str | None = None,
                      dsn_envid: str | None = None,
                      notify: Sequence[str | None] | None = None,
                      orcpt: Sequence[str | None] | None = None) -> QueuedMessage:
        notes = list(notify or [None] * len(recipients))
        originals = list(orcpt or [None] * len(recipients))
        message = QueuedMessage(
            QueueId(len(self.enqueued) + 1), sender, blob.id, blob.size, datetime.now(UTC),
            tuple(QueueRecipient(r, RecipientState.PENDING, 0, None, None, n, o)
                  for r, n, o in zip(recipients, notes, originals, strict=True)),
            submitted_by, dsn_ret, dsn_envid,
        )
        self.enqueued.append(message)
        return message


@dataclass
class FakeBlobs:
    data: dict[str, bytes] = field(default_factory=dict)

    async def put(self, data: bytes) -> BlobRef:
        return await self.record(await self.stage(data))

    async def stage(self, data: bytes) -> StagedBlob:
        return StagedBlob(BlobRef(BlobId(hashlib.sha256(data).hexdigest()), len(data)), data)

    async def record(self, staged: StagedBlob) -> BlobRef:
        assert staged.inline is not None
        self.data[staged.ref.id] = staged.inline
        return staged.ref


def as_directory(fake: FakeDirectory) -> DirectoryService:
    return cast(DirectoryService, fake)


def as_mail(fake: FakeMail) -> MailService:
    return cast(MailService, fake)


def as_queue(fake: FakeQueue) -> QueueService:
    return cast(QueueService, fake)


def as_blobs(fake: FakeBlobs) -> BlobStore:
    return cast(BlobStore, fake)
