"""Mailbox snapshots shared by the sessions of one process (memory per idle session).

A session's view starts from the newest snapshot of its mailbox (read once, by the
first session that selects it) and keeps only its own differences on top, copy on
write: a thousand clients idling in the same 10,000-message INBOX share one message
table instead of holding a thousand copies. Snapshots are immutable once published;
a session catches up from a snapshot's modseq with `messages_changed_since`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from tidings.model.ids import UID, MailboxId, ModSeq, PrincipalId
from tidings.model.mail import Message

DEFAULT_MAX_SNAPSHOTS = 256
DEFAULT_MAX_MESSAGES = 200_000  # across all snapshots: roughly 100-150 MB


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A mailbox's message list as one actor saw it when the account was at `account_modseq`.
    Never mutated after creation; views copy before they change anything."""

    uid_validity: int
    account_modseq: int
    uids: list[UID]
    messages: dict[UID, Message]
    highest_modseq: ModSeq

    @classmethod
    def build(cls, uid_validity: int, account_modseq: int, messages: Sequence[Message]
              ) -> Snapshot:
        highest = max((m.modseq for m in messages), default=ModSeq(0))
        return cls(uid_validity, account_modseq, [m.uid for m in messages],
                   {m.uid: m for m in messages}, highest)


SnapshotKey = tuple[MailboxId, PrincipalId]


class SnapshotRegistry:
    """The newest snapshot per (mailbox, actor): flags are as that actor sees them.

    Bounded by snapshots and by messages held in total (a snapshot costs a few hundred
    bytes per message); the least recently used go first. Sessions still holding an
    evicted snapshot keep it alive until they leave the mailbox."""

    def __init__(self, max_snapshots: int = DEFAULT_MAX_SNAPSHOTS,
                 max_messages: int = DEFAULT_MAX_MESSAGES) -> None:
        self.max_snapshots = max_snapshots
        self.max_messages = max_messages
        self._entries: OrderedDict[SnapshotKey, Snapshot] = OrderedDict()
        self._messages = 0

    def get(self, key: SnapshotKey) -> Snapshot | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: SnapshotKey, snapshot: Snapshot) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._messages -= len(old.uids)
        self._entries[key] = snapshot
        self._messages += len(snapshot.uids)
        while len(self._entries) > 1 and (len(self._entries) > self.max_snapshots
                                          or self._messages > self.max_messages):
            _key, dropped = self._entries.popitem(last=False)
            self._messages -= len(dropped.uids)

    def __len__(self) -> int:
        return len(self._entries)


class MessageMap:
    """UID -> Message: a shared base dict plus this view's own changes and removals."""

    __slots__ = ("_base", "_own", "_removed")

    def __init__(self, base: dict[UID, Message] | None = None) -> None:
        self._base: dict[UID, Message] = base if base is not None else {}
        self._own: dict[UID, Message] = {}
        self._removed: set[UID] = set()

    def get(self, uid: UID, default: Message | None = None) -> Message | None:
        found = self._own.get(uid)
        if found is not None:
            return found
        if uid in self._removed:
            return default
        return self._base.get(uid, default)

    def __getitem__(self, uid: UID) -> Message:
        found = self.get(uid)
        if found is None:
            raise KeyError(uid)
        return found

    def __setitem__(self, uid: UID, message: Message) -> None:
        self._own[uid] = message
        self._removed.discard(uid)

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, int) and self.get(UID(uid)) is not None

    def pop(self, uid: UID, default: Message | None = None) -> Message | None:
        found = self.get(uid)
        self._own.pop(uid, None)
        if uid in self._base:
            self._removed.add(uid)
        return found if found is not None else default

    @property
    def own_count(self) -> int:
        """How far this view has moved away from the shared base."""
        return len(self._own) + len(self._removed)
