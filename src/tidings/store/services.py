"""Typed service interfaces: the only way protocols reach stored data.

Every method that reads or writes an account's data takes the acting principal
and makes the one authorization check; every write returns only after its
transaction (and any blob it references) is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tidings.model.acl import Right
from tidings.model.changes import ChangeBatch
from tidings.model.dav import (
    CollectionChanges,
    CollectionGrant,
    CollectionKind,
    CollectionPatch,
    DAVCollection,
    DAVObject,
    NewCollection,
    NewDAVObject,
    ShareLevel,
)
from tidings.model.directory import (
    AppPassword,
    Credential,
    Domain,
    Permission,
    Principal,
    PrincipalKind,
    ResourcePolicy,
    Role,
)
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
from tidings.model.mail import (
    Appended,
    Email,
    FlagOperation,
    Keyword,
    Mailbox,
    MailboxRole,
    MailboxStatus,
    Message,
    Moved,
    ParsedHeaders,
    Quota,
)
from tidings.model.queue import QueuedMessage


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob that is already on stable storage."""

    id: BlobId
    size: int


@dataclass(frozen=True, slots=True)
class StagedBlob:
    """Bytes ready to be recorded inside a store transaction: a large blob's file is
    already on stable storage; a small one travels in `inline` to its row."""

    ref: BlobRef
    inline: bytes | None  # the bytes the row keeps; None when they live in a file


class BlobStore(Protocol):
    async def put(self, data: bytes) -> BlobRef:
        """Store bytes durably (content-addressed; storing twice is harmless)."""

    async def stage(self, data: bytes) -> StagedBlob:
        """Make a large blob's file durable now; its row is written by the writer that
        takes the StagedBlob (e.g. `MailService.deliver`), in that writer's commit."""

    async def record(self, staged: StagedBlob) -> BlobRef:
        """Commit the row of a staged blob on its own (`put` is stage + record)."""

    async def get(self, blob_id: BlobId) -> bytes:
        """Raises NotFound."""

    async def exists(self, blob_id: BlobId) -> bool: ...


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One message to add to a mailbox (APPEND, delivery, JMAP import)."""

    mailbox_id: MailboxId
    blob: BlobRef
    headers: ParsedHeaders
    keywords: frozenset[Keyword] = frozenset()
    received_at: datetime | None = None  # None: now


@dataclass(frozen=True, slots=True)
class MessageChanges:
    """What changed in one mailbox after a modseq (an IMAP view's incremental refresh)."""

    highest_modseq: ModSeq  # the account's modseq these changes are complete up to
    changed: tuple[Message, ...]  # new or modified messages, by UID (as the actor sees them)
    expunged: tuple[UID, ...]  # UIDs removed from the mailbox, ascending


@dataclass(frozen=True, slots=True)
class DeliveredTo:
    """Where a delivered copy ended up."""

    account_id: AccountId
    appended: Appended


class DirectoryService(Protocol):
    """Domains, principals, addresses, groups and permissions (persistence only;
    `tidings.directory` adds password hashing and authentication on top)."""

    async def create_domain(self, name: str) -> Domain:
        """Raises Conflict if it exists, InvalidInput if the name is not a domain."""

    async def get_domain(self, name: str) -> Domain:
        """Raises NotFound."""

    async def list_domains(self) -> Sequence[Domain]: ...

    async def delete_domain(self, name: str) -> None:
        """Raises NotFound; Conflict while principals remain in it."""

    async def set_catch_all(self, domain: str, target: PrincipalId | None) -> Domain: ...

    async def create_principal(
        self,
        kind: PrincipalKind,
        address: str,
        *,
        display_name: str = "",
        password_hash: str | None = None,
        scram_sha256: str | None = None,
        role: Role = Role.USER,
        quota_bytes: int | None = None,
    ) -> Principal:
        """Create a principal; data-owning kinds get an account with the default
        mailboxes (INBOX, Drafts, Sent, Junk, Trash, Archive).
        Raises NotFound (domain), Conflict (address taken), InvalidInput."""

    async def get_principal(self, principal_id: PrincipalId) -> Principal:
        """Raises NotFound."""

    async def find_principal(self, address: str) -> Principal:
        """Look up by primary address or alias (case-insensitive). Raises NotFound."""

    async def list_principals(
        self,
        *,
        domain: str | None = None,
        kind: PrincipalKind | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> Sequence[Principal]: ...

    async def update_principal(
        self,
        principal_id: PrincipalId,
        *,
        display_name: str | None = None,
        enabled: bool | None = None,
        role: Role | None = None,
        quota_bytes: int | None = None,
        clear_quota: bool = False,
        per_user_seen: bool | None = None,
    ) -> Principal: ...

    async def set_password(
        self, principal_id: PrincipalId, password_hash: str, scram_sha256: str | None
    ) -> None: ...

    async def delete_principal(self, principal_id: PrincipalId) -> None:
        """Remove the principal, its addresses, memberships and all its data."""

    async def credential(self, login: str) -> Credential:
        """Everything authentication needs, by login or address. Raises NotFound."""

    async def add_app_password(
        self, principal_id: PrincipalId, label: str, password_hash: str
    ) -> AppPassword: ...

    async def list_app_passwords(self, principal_id: PrincipalId) -> Sequence[AppPassword]: ...

    async def delete_app_password(
        self, principal_id: PrincipalId, app_password_id: int
    ) -> None: ...

    async def touch_app_password(self, app_password_id: int) -> None: ...

    async def add_alias(self, principal_id: PrincipalId, address: str) -> None:
        """Raises Conflict if the address is taken, NotFound if its domain is not local."""

    async def remove_alias(self, address: str) -> None: ...

    async def list_aliases(self, principal_id: PrincipalId) -> Sequence[str]: ...

    async def add_member(self, group_id: PrincipalId, member_id: PrincipalId) -> None:
        """Raises InvalidInput if `group_id` is not a group or the edge makes a cycle."""

    async def remove_member(self, group_id: PrincipalId, member_id: PrincipalId) -> None: ...

    async def list_members(self, group_id: PrincipalId) -> Sequence[Principal]:
        """Direct members only."""

    async def expand_group(self, group_id: PrincipalId) -> Sequence[Principal]:
        """All data-owning principals reachable through nested groups, each once."""

    async def grant(
        self, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
    ) -> None: ...

    async def revoke(
        self, owner_id: PrincipalId, grantee_id: PrincipalId, permission: Permission
    ) -> None: ...

    async def permissions_of(
        self, grantee_id: PrincipalId
    ) -> Sequence[tuple[PrincipalId, Permission]]:
        """(owner, permission) pairs granted to `grantee_id`, directly or via a group."""

    async def set_resource_policy(
        self, principal_id: PrincipalId, policy: ResourcePolicy
    ) -> None: ...

    async def resource_policy(self, principal_id: PrincipalId) -> ResourcePolicy: ...


class MailService(Protocol):
    """Mailboxes and messages of every account; each call checks the actor's rights
    (owner, FULL_ACCESS permission, or the mailbox's RFC 4314 ACL)."""

    # --- mailboxes -------------------------------------------------------------
    async def list_mailboxes(self, actor: Principal, account: AccountId) -> Sequence[Mailbox]:
        """Mailboxes the actor may see (lookup right) in that account."""

    async def accessible_accounts(self, actor: Principal) -> Sequence[tuple[AccountId, str]]:
        """Other accounts (id, address) where the actor can see at least one mailbox."""

    async def get_mailbox(self, actor: Principal, mailbox: MailboxId) -> Mailbox:
        """Raises NotFound (also when the actor may not see it)."""

    async def find_mailbox(self, actor: Principal, account: AccountId, name: str) -> Mailbox:
        """By full name ("INBOX" is case-insensitive). Raises NotFound."""

    async def mailbox_by_role(
        self, actor: Principal, account: AccountId, role: MailboxRole
    ) -> Mailbox: ...

    async def create_mailbox(
        self, actor: Principal, account: AccountId, name: str, role: MailboxRole | None = None
    ) -> Mailbox:
        """Creates missing parents too. Raises Conflict if it exists."""

    async def rename_mailbox(self, actor: Principal, mailbox: MailboxId, new_name: str) -> Mailbox:
        """Renames children with it; renaming INBOX moves its messages (RFC 9051 §6.3.6)."""

    async def delete_mailbox(self, actor: Principal, mailbox: MailboxId) -> None:
        """Raises Conflict for INBOX or a mailbox with children."""

    async def set_subscribed(
        self, actor: Principal, mailbox: MailboxId, subscribed: bool
    ) -> None: ...

    async def mailbox_status(self, actor: Principal, mailbox: MailboxId) -> MailboxStatus: ...

    async def my_rights(self, actor: Principal, mailbox: MailboxId) -> frozenset[Right]: ...

    async def get_acl(
        self, actor: Principal, mailbox: MailboxId
    ) -> Sequence[tuple[str, frozenset[Right]]]:
        """(identifier, rights) pairs; the owner appears with all rights."""

    async def set_acl(
        self, actor: Principal, mailbox: MailboxId, identifier: str, rights: frozenset[Right]
    ) -> None:
        """Empty rights removes the entry. Needs the administer right."""

    # --- messages --------------------------------------------------------------
    async def append(self, actor: Principal, message: NewMessage) -> Appended:
        """Raises NotFound, PermissionDenied, QuotaExceeded."""

    async def append_many(self, actor: Principal, messages: Sequence[NewMessage]) -> list[Appended]:
        """All or nothing, in one transaction (IMAP MULTIAPPEND)."""

    async def deliver(
        self,
        accounts: Sequence[tuple[AccountId, MailboxRole | str]],
        blob: BlobRef | StagedBlob,
        headers: ParsedHeaders,
        keywords: frozenset[Keyword] = frozenset(),
    ) -> list[DeliveredTo]:
        """System delivery (no actor check): one copy per account into the named
        mailbox or role, falling back to INBOX; one commit for all of them. A
        StagedBlob's row is written in that same commit (even if no copy fits)."""

    async def messages(
        self, actor: Principal, mailbox: MailboxId, *, since_uid: UID | None = None
    ) -> Sequence[Message]:
        """Every message in the mailbox, ordered by UID; flags as the actor sees them
        (per-user \\Seen in shared mailboxes)."""

    async def messages_changed_since(
        self, actor: Principal, mailbox: MailboxId, modseq: ModSeq
    ) -> MessageChanges:
        """Messages whose modseq is above `modseq` and UIDs expunged after it, complete up
        to the returned account modseq (later changes may show too). Raises NotFound,
        PermissionDenied; Conflict if the log was pruned past `modseq`."""

    async def read_message_blobs(
        self, actor: Principal, mailbox: MailboxId, uids: Sequence[UID]
    ) -> Sequence[tuple[UID, bytes]]:
        """(UID, raw bytes) of the mailbox's messages among `uids`, by UID, under one
        authorization check (FETCH of many messages); missing UIDs are left out."""

    async def get_email(self, actor: Principal, email: EmailId) -> Email: ...

    async def read_blob(self, actor: Principal, blob_id: BlobId) -> bytes:
        """Only a blob of an email the actor can read. Raises NotFound."""

    async def store_flags(
        self,
        actor: Principal,
        mailbox: MailboxId,
        uids: Sequence[UID],
        operation: FlagOperation,
        flags: frozenset[Keyword],
        unchanged_since: ModSeq | None = None,
    ) -> tuple[Sequence[Message], Sequence[UID]]:
        """Change flags; returns (changed messages, UIDs that failed UNCHANGEDSINCE)."""

    async def copy(
        self, actor: Principal, source: MailboxId, uids: Sequence[UID], target: MailboxId
    ) -> Moved: ...

    async def move(
        self, actor: Principal, source: MailboxId, uids: Sequence[UID], target: MailboxId
    ) -> Moved: ...

    async def expunge(
        self, actor: Principal, mailbox: MailboxId, uids: Sequence[UID] | None = None
    ) -> Sequence[UID]:
        """Remove messages flagged \\Deleted (only among `uids` if given); returns them."""

    async def search_text(
        self, actor: Principal, mailbox: MailboxId, query: str, *, field: str = "text"
    ) -> Sequence[UID]:
        """Full-text search; `field` is text, body, subject, from, to, cc or bcc."""

    async def quota(self, actor: Principal, account: AccountId) -> Quota: ...

    # --- change log -------------------------------------------------------------
    async def changes_since(
        self, actor: Principal, account: AccountId, modseq: ModSeq, *, limit: int = 10000
    ) -> ChangeBatch:
        """Every change (tombstones included) after `modseq`. Raises Conflict if the log
        before that point was pruned (the client must resynchronise fully)."""

    async def highest_modseq(self, actor: Principal, account: AccountId) -> ModSeq: ...


class DAVService(Protocol):
    """Calendars (events, tasks, journals) and address books, for CalDAV/CardDAV, JMAP
    and EWS. Each call makes the one authorization check: the owner and FULL_ACCESS
    may do everything, CALENDAR_DELEGATE/EDITOR read and write calendars,
    CALENDAR_REVIEWER reads them; anyone else gets NotFound (existence never leaks)."""

    async def list_collections(
        self, actor: Principal, account: AccountId, kind: CollectionKind
    ) -> Sequence[DAVCollection]:
        """The account's collections of that kind; the owner's first call creates the
        default one. Raises NotFound."""

    async def get_collection(
        self, actor: Principal, account: AccountId, kind: CollectionKind, name: str
    ) -> DAVCollection:
        """Raises NotFound."""

    async def create_collection(
        self, actor: Principal, account: AccountId, new: NewCollection
    ) -> DAVCollection:
        """Raises Conflict if the name is taken, InvalidInput, NotFound, PermissionDenied."""

    async def update_collection(
        self, actor: Principal, collection_id: int, patch: CollectionPatch
    ) -> DAVCollection: ...

    async def delete_collection(self, actor: Principal, collection_id: int) -> None:
        """Removes its objects too (one change per object and one for the collection)."""

    async def get_object(self, actor: Principal, collection_id: int, name: str) -> DAVObject:
        """Raises NotFound."""

    async def list_objects(
        self,
        actor: Principal,
        collection_id: int,
        *,
        names: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        component: str | None = None,
    ) -> Sequence[DAVObject]:
        """Objects by name (multiget), or those whose indexed instance bounds overlap
        [start, end) and of that component; unknown names are left out."""

    async def put_object(
        self,
        actor: Principal,
        collection_id: int,
        new: NewDAVObject,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> tuple[DAVObject, bool]:
        """Create or replace; returns (object, created). Raises PreconditionFailed,
        UIDConflict, NotFound, PermissionDenied."""

    async def delete_object(
        self, actor: Principal, collection_id: int, name: str, *, if_match: str | None = None
    ) -> None:
        """Raises NotFound, PreconditionFailed, PermissionDenied."""

    async def changes_since(
        self, actor: Principal, collection_id: int, token: ModSeq | None
    ) -> CollectionChanges:
        """RFC 6578 from the change log; None gives every object. Raises
        InvalidSyncToken for a token the log cannot answer."""

    async def find_by_uid(
        self, actor: Principal, account: AccountId, kind: CollectionKind, uid: str
    ) -> Sequence[DAVObject]:
        """Live objects with this UID in the account's collections of `kind` (RFC 6638
        scheduling finds the organizer's and attendees' copies). Raises NotFound."""

    async def shared_collections(
        self, actor: Principal, kind: CollectionKind
    ) -> Sequence[DAVCollection]:
        """Other accounts' collections of `kind` granted to the actor or its groups,
        each with `access` set to the actor's level (they join its home set)."""

    async def share_collection(
        self, actor: Principal, collection_id: int, grantee: PrincipalId, level: ShareLevel | None
    ) -> None:
        """Grant a user or group a level on the collection (None revokes); needs MANAGE.
        Raises NotFound, PermissionDenied, InvalidInput."""

    async def collection_acl(
        self, actor: Principal, collection_id: int
    ) -> Sequence[CollectionGrant]:
        """The collection's grants; needs MANAGE. Raises NotFound, PermissionDenied."""

    async def free_busy_objects(
        self, actor: Principal, collection_id: int, start: datetime, end: datetime
    ) -> Sequence[DAVObject]:
        """VEVENTs whose bounds overlap [start, end), for free/busy only (needs only the
        FREE_BUSY level: callers must not hand their data to the actor)."""


class ChangeNotifier(Protocol):
    """Wakes sessions (IDLE, push, Ping) when an account's modseq moves."""

    def publish(self, account: AccountId, modseq: ModSeq) -> None: ...

    def subscribe(self, account: AccountId) -> AsyncIterator[ModSeq]:
        """Yields new highest modseqs; closing the iterator unsubscribes."""


class QueueService(Protocol):
    """The persistent outbound queue."""

    async def enqueue(
        self,
        sender: str,
        recipients: Sequence[str],
        blob: BlobRef,
        *,
        submitted_by: PrincipalId | None = None,
        dsn_ret: str | None = None,
        dsn_envid: str | None = None,
        notify: Sequence[str | None] | None = None,
        orcpt: Sequence[str | None] | None = None,
    ) -> QueuedMessage: ...

    async def get(self, queue_id: QueueId) -> QueuedMessage: ...

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[QueuedMessage]: ...

    async def due(self, now: datetime, limit: int = 100) -> Sequence[QueuedMessage]:
        """Messages with a pending recipient whose next attempt is at or before `now`."""

    async def claim(
        self, now: datetime, lease_seconds: float, limit: int = 100, *,
        exclude: Collection[QueueId] = (),
    ) -> Sequence[QueuedMessage]:
        """Take due messages (but not those in `exclude`) for delivery by this node:
        their due recipients' next attempt moves to `now + lease_seconds`, so no other
        node takes them meanwhile (a crashed node's lease simply expires). The messages
        come back as they were before the lease, so their due recipients read as due."""

    async def record_attempt(
        self,
        queue_id: QueueId,
        address: str,
        *,
        delivered: bool,
        permanent: bool,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None: ...

    async def mark_delay_notified(self, queue_id: QueueId) -> None: ...

    async def release(self, queue_id: QueueId, addresses: Sequence[str], now: datetime) -> None:
        """Hand back a claim: these pending recipients are due again at `now`."""

    async def purge_finished(self) -> int:
        """Delete messages with no pending recipient left (a crash came between the
        last recorded attempt and the delete); returns how many."""

    async def retry_now(self, queue_id: QueueId) -> None: ...

    async def delete(self, queue_id: QueueId) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One admin action to record: who did what to which object, from where."""

    actor: str  # who: a principal's address, "cli:<os user>", "token:<id>"
    action: str  # what: "user.create", "domain.delete", "queue.retry", ...
    object_type: str
    object_id: str
    actor_address: str | None = None  # the principal behind the actor, if any
    remote_ip: str | None = None
    before: dict[str, object] | None = None  # JSON values only
    after: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored, hash-chained audit record."""

    id: int
    at: datetime
    event: AuditEvent
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("user.")
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLogService(Protocol):
    """The append-only, hash-chained log of admin actions."""

    async def append(self, event: AuditEvent) -> AuditRecord:
        """Chain and store one record; returns after the durable commit."""

    async def list(
        self, filters: AuditFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[Sequence[AuditRecord], int]:
        """Matching records, oldest first, and how many match in total."""

    async def verify(self) -> int | None:
        """Walk the chain; the id of the first record that does not verify, or None."""


@dataclass(frozen=True, slots=True)
class APIToken:
    """An API token's metadata; only a hash of its secret is stored."""

    id: int
    principal_id: PrincipalId
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None = None


class AdminAccessService(Protocol):
    """API tokens and the extra domains a domain admin administers."""

    async def create_token(
        self, principal_id: PrincipalId, name: str, role: Role, token_hash: str
    ) -> APIToken:
        """Raises NotFound (principal)."""

    async def find_token(self, token_hash: str) -> APIToken:
        """Raises NotFound."""

    async def list_tokens(self, principal_id: PrincipalId | None = None) -> Sequence[APIToken]: ...

    async def delete_token(self, token_id: int) -> None:
        """Raises NotFound."""

    async def touch_token(self, token_id: int) -> None: ...

    async def add_domain_admin(self, principal_id: PrincipalId, domain: str) -> None:
        """Raises NotFound (principal or domain)."""

    async def remove_domain_admin(self, principal_id: PrincipalId, domain: str) -> None: ...

    async def admin_domains(self, principal_id: PrincipalId) -> Sequence[str]:
        """Domains granted to the principal in the domain_admins table."""


@dataclass(frozen=True, slots=True)
class TOTPEnrolment:
    """A principal's TOTP secret (RFC 6238) and the last time step it accepted."""

    principal_id: PrincipalId
    secret: str  # base32
    created_at: datetime
    last_step: int = 0  # a code is good once: steps at or below this are refused


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in admin console session; only a hash of its cookie is stored."""

    id_hash: str
    principal_id: PrincipalId
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    remote_ip: str | None = None


@dataclass(frozen=True, slots=True)
class UsageFigures:
    """Cheap server-wide figures for the admin dashboard."""

    storage_bytes: int
    stored_per_hour: tuple[tuple[datetime, int], ...]  # (hour start, messages), oldest first


class ConsoleStateService(Protocol):
    """Second factors, console sessions and dashboard figures."""

    async def totp(self, principal_id: PrincipalId) -> TOTPEnrolment | None: ...

    async def set_totp(self, principal_id: PrincipalId, secret: str | None) -> None:
        """Enrol (replacing any secret) or, with None, remove. Raises NotFound."""

    async def claim_totp_step(self, principal_id: PrincipalId, step: int) -> bool:
        """Record `step` as used; False if it (or a later one) was used already."""

    async def create_session(self, session: ConsoleSession) -> None: ...

    async def find_session(self, id_hash: str, now: datetime) -> ConsoleSession:
        """The unexpired session. Raises NotFound."""

    async def delete_session(self, id_hash: str) -> None: ...

    async def delete_sessions(self, principal_id: PrincipalId) -> None: ...

    async def usage(self, now: datetime, hours: int = 24) -> UsageFigures: ...


@dataclass(frozen=True, slots=True)
class SenderListEntry:
    """A per-account safe ("safe") or blocked ("blocked") sender: an address or a domain."""

    account_id: AccountId
    pattern: str
    kind: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SpamStats:
    spam_messages: int
    ham_messages: int
    tokens: int


@dataclass(frozen=True, slots=True)
class LearnerPosition:
    """How far the spam learner has read an account's change log."""

    account_id: AccountId
    learned_modseq: ModSeq
    highest_modseq: ModSeq


@dataclass(frozen=True, slots=True)
class SpamLookup:
    """Everything scoring one message reads, fetched in one round trip."""

    totals: tuple[int, int]  # (spam, ham) messages learned in the scopes
    counts: dict[str, tuple[int, int]]  # (spam, ham) per known token
    senders: dict[AccountId, list[SenderListEntry]]


class SpamDataService(Protocol):
    """Bayesian token counts (scope 0 is global, else an account id), rule weights,
    sender lists and the learner's positions in the change log (hygiene/spam)."""

    async def token_counts(
        self, scopes: Sequence[int], tokens: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """(spam, ham) per known token, summed over the scopes."""

    async def totals(self, scopes: Sequence[int]) -> tuple[int, int]:
        """(spam, ham) messages learned, summed over the scopes."""

    async def lookup(
        self, scopes: Sequence[int], tokens: Sequence[str], accounts: Sequence[AccountId],
        *, min_totals: tuple[int, int] = (0, 0),
    ) -> SpamLookup:
        """totals, token_counts and sender_lists in one read transaction. Token counts
        are read only when the totals reach `min_totals` (spam, ham): below that the
        classifier abstains, so reading them would be wasted."""

    async def learn(
        self, account: AccountId, blob_id: BlobId, tokens: Sequence[str], is_spam: bool
    ) -> bool:
        """Train scopes 0 and `account` once per (account, blob); a message learned
        as the other class is unlearned first. False when nothing changed.
        Account 0 trains the global table only, without that bookkeeping."""

    async def rule_weights(self) -> dict[str, float]: ...

    async def set_rule_weight(self, name: str, weight: float | None) -> None:
        """None removes the override (the default weight applies again)."""

    async def sender_lists(
        self, accounts: Sequence[AccountId]
    ) -> dict[AccountId, list[SenderListEntry]]: ...

    async def add_sender(self, account: AccountId, pattern: str, kind: str) -> SenderListEntry:
        """Replaces an entry with the same pattern. Raises InvalidInput, NotFound."""

    async def remove_sender(self, account: AccountId, pattern: str) -> None:
        """Raises NotFound."""

    async def stats(self, scope: int = 0) -> SpamStats: ...

    async def learner_positions(self, limit: int = 1000) -> Sequence[LearnerPosition]:
        """Accounts whose change log moved past the learner's position."""

    async def email_changes(
        self, account: AccountId, since: ModSeq, limit: int = 1000
    ) -> ChangeBatch:
        """System read of email changes after `since` (no actor: the learner's own)."""

    async def mailbox_roles(self, account: AccountId) -> dict[int, str | None]: ...

    async def email_blobs(self, email_ids: Sequence[int]) -> dict[int, BlobId]: ...

    async def set_learner_position(self, account: AccountId, modseq: ModSeq) -> None: ...


@dataclass(frozen=True, slots=True)
class NewQuarantined:
    sender: str
    recipients: tuple[str, ...]
    account_ids: tuple[AccountId, ...]
    blob: BlobRef
    reason: str  # "spam", "virus", "attachment"
    score: float | None
    report: str
    subject: str = ""
    from_: str = ""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    id: int
    created_at: datetime
    held: NewQuarantined
    status: str  # "held", "released", "deleted"
    resolved_at: datetime | None = None
    resolved_by: str | None = None


class QuarantineService(Protocol):
    """Messages held by hygiene stages until an admin releases or deletes them."""

    async def hold(self, new: NewQuarantined) -> QuarantineEntry:
        """Returns after the durable commit."""

    async def get(self, entry_id: int) -> QuarantineEntry:
        """Raises NotFound."""

    async def list(
        self, *, status: str | None = "held", account: AccountId | None = None,
        offset: int = 0, limit: int = 100,
    ) -> Sequence[QuarantineEntry]:
        """Newest first."""

    async def resolve(
        self, entry_id: int, status: str, by: str, *, expect: str = "held"
    ) -> QuarantineEntry:
        """Move from `expect` to `status`. Raises NotFound, Conflict (not in `expect`)."""


@dataclass(frozen=True, slots=True)
class GreylistTriplet:
    first_seen: float  # seconds on the greylister's clock
    passed: bool = False


class GreylistService(Protocol):
    """Greylisting state (hygiene/greylist.py): (network, sender, recipient) triplets
    and allow-listed client networks; `now`, `expires` and `until` are seconds on the
    greylister's clock. Expired entries read as absent."""

    async def get(self, key: str, now: float) -> GreylistTriplet | None: ...

    async def put(self, key: str, triplet: GreylistTriplet, now: float,
                  ttl_seconds: float) -> None: ...

    async def count_pass(self, network: str, now: float, ttl_seconds: float) -> int:
        """One more passed retry from `network`; returns the count."""

    async def allow(self, network: str, now: float, until: float) -> None: ...

    async def allowed_until(self, network: str, now: float) -> float:
        """0 when the network is not allow-listed."""


class Store(Protocol):
    """One opened store: the services plus its lifecycle."""

    @property
    def directory(self) -> DirectoryService: ...
    @property
    def mail(self) -> MailService: ...
    @property
    def queue(self) -> QueueService: ...
    @property
    def dav(self) -> DAVService: ...
    @property
    def blobs(self) -> BlobStore: ...
    @property
    def notifier(self) -> ChangeNotifier: ...
    @property
    def audit(self) -> AuditLogService: ...
    @property
    def admin_access(self) -> AdminAccessService: ...
    @property
    def console_state(self) -> ConsoleStateService: ...
    @property
    def spam(self) -> SpamDataService: ...
    @property
    def quarantine(self) -> QuarantineService: ...
    @property
    def greylist(self) -> GreylistService: ...

    async def close(self) -> None: ...


__all__ = [
    "UID",
    "APIToken",
    "AdminAccessService",
    "AuditEvent",
    "ConsoleSession",
    "ConsoleStateService",
    "TOTPEnrolment",
    "UsageFigures",
    "AuditFilter",
    "AuditLogService",
    "AuditRecord",
    "AccountId",
    "BlobId",
    "BlobRef",
    "BlobStore",
    "ChangeNotifier",
    "DAVService",
    "DeliveredTo",
    "DirectoryService",
    "DomainId",
    "EmailId",
    "MailService",
    "MailboxId",
    "ModSeq",
    "NewMessage",
    "ParsedHeaders",
    "PrincipalId",
    "GreylistService",
    "GreylistTriplet",
    "QueueService",
    "Store",
]
