"""The selected mailbox as one session sees it (RFC 9051 §5.5, §7.5.1; RFC 7162 §3.2.10).

Pure: the session's own sequence-number -> UID map, the flags it last reported, and
expunges held back until a point where the RFC lets the server announce them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tidings.imap.responses import CountData, FetchData, Response, VanishedData
from tidings.imap.sequence import SequenceSet, compress
from tidings.imap.snapshot import MessageMap, Snapshot
from tidings.imap.wire import Atom, Value
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import Mailbox, Message


class BadSequence(Exception):
    """A message sequence number outside the mailbox (RFC 9051 §9 seq-number)."""


@dataclass(slots=True)
class MailboxView:
    mailbox: Mailbox
    readonly: bool
    uids: list[UID] = field(default_factory=list)  # shared with a snapshot until changed
    messages: MessageMap = field(default_factory=MessageMap)
    expunged: set[UID] = field(default_factory=set)  # gone from the store, not yet announced
    recent: set[UID] = field(default_factory=set)
    highest_modseq: ModSeq = field(default_factory=lambda: ModSeq(0))
    condstore: bool = False
    qresync: bool = False
    saved: tuple[UID, ...] = ()  # SEARCHRES "$" (RFC 5182)
    account_modseq: int = -1  # the owning account's modseq when last refreshed
    uids_shared: bool = False  # `uids` belongs to a snapshot: copy before changing it

    @classmethod
    def open(
        cls,
        mailbox: Mailbox,
        messages: Sequence[Message],
        *,
        readonly: bool,
        condstore: bool = False,
        qresync: bool = False,
    ) -> MailboxView:
        view = cls(mailbox, readonly, condstore=condstore or qresync, qresync=qresync)
        view.uids = [m.uid for m in messages]
        view.messages = MessageMap({m.uid: m for m in messages})
        view.highest_modseq = max([mailbox.highest_modseq, *(m.modseq for m in messages)])
        return view

    @classmethod
    def from_snapshot(
        cls,
        mailbox: Mailbox,
        snapshot: Snapshot,
        *,
        readonly: bool,
        condstore: bool = False,
        qresync: bool = False,
    ) -> MailboxView:
        """A view sharing the snapshot's tables (copy on write); the caller brings it up
        to date with `apply_changes` from `snapshot.account_modseq`."""
        view = cls(mailbox, readonly, condstore=condstore or qresync, qresync=qresync)
        view.uids, view.uids_shared = snapshot.uids, True
        view.messages = MessageMap(snapshot.messages)
        view.highest_modseq = ModSeq(max(mailbox.highest_modseq, snapshot.highest_modseq))
        view.account_modseq = snapshot.account_modseq
        return view

    def _own_uids(self) -> list[UID]:
        if self.uids_shared:
            self.uids, self.uids_shared = list(self.uids), False
        return self.uids

    # --- looking up ------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: UID) -> int | None:
        index = bisect.bisect_left(self.uids, uid)
        if index < len(self.uids) and self.uids[index] == uid:
            return index + 1
        return None

    def resolve(self, sequence: SequenceSet, *, uid: bool) -> list[tuple[int, Message]]:
        """(sequence number, message) pairs the set names, ascending; pending
        expunges are included (the client still counts them). Raises BadSequence."""
        if sequence.saved:
            chosen = [u for u in self.saved if self.seq_of(u) is not None]
            return [(self.seq_of(u) or 0, self.messages[u]) for u in sorted(chosen)]
        if uid:
            # One pass in UID order: the position is the sequence number.
            largest = self.uids[-1] if self.uids else 0
            return [(seq, self.messages[u]) for seq, u in enumerate(self.uids, 1)
                    if sequence.contains(u, largest)]
        for low, high in sequence.ranges:
            for end in (low, high):
                if end is not None and end > len(self.uids):
                    raise BadSequence(f"No message with sequence number {end}")
        if not self.uids:
            if sequence.ranges and all(lo is None and hi is None for lo, hi in sequence.ranges):
                return []
            raise BadSequence("The mailbox is empty")
        numbers = sequence.select(range(1, len(self.uids) + 1))
        return [(n, self.messages[self.uids[n - 1]]) for n in numbers]

    def is_expunged(self, uid: UID) -> bool:
        return uid in self.expunged

    # --- changes ---------------------------------------------------------------
    def update_message(self, message: Message) -> None:
        """Record a change this session made itself (its reply reports it)."""
        if message.uid in self.messages:
            self.messages[message.uid] = message
            self.highest_modseq = ModSeq(max(self.highest_modseq, message.modseq))

    def refresh(
        self, current: Sequence[Message], *, allow_expunge: bool, rev2: bool,
        send_uid: bool = False, recent_after: UID | None = None,
    ) -> list[Response]:
        """Compare with the store's whole current list; return EXPUNGE/VANISHED, EXISTS,
        RECENT and FETCH FLAGS responses in a safe order."""
        present = {m.uid for m in current}
        gone = [uid for uid in self.uids if uid not in present]
        return self.apply_changes(current, gone, allow_expunge=allow_expunge, rev2=rev2,
                                  send_uid=send_uid, recent_after=recent_after)

    def apply_changes(
        self, changed: Sequence[Message], gone: Iterable[UID], *, allow_expunge: bool,
        rev2: bool, send_uid: bool = False, recent_after: UID | None = None
    ) -> list[Response]:
        """Apply what the store reports since the last look: `changed` messages (new or
        modified, by UID) and `gone` UIDs (expunged); return the responses to send.
        New messages above `recent_after` (all, if None) are \\Recent in a rev1 session."""
        out: list[Response] = []
        self.expunged.update(uid for uid in gone if uid in self.messages)
        if allow_expunge:
            out += self.flush_expunges()
        flag_changes: list[Message] = []
        last = self.uids[-1] if self.uids else UID(0)
        new: list[Message] = []
        for message in changed:
            if message.uid > last:
                new.append(message)
                continue
            known = self.messages.get(message.uid)
            if known is None or message.uid in self.expunged:
                continue
            if known.flags != message.flags or known.modseq != message.modseq:
                self.messages[message.uid] = message
                if known.flags != message.flags or self.condstore:
                    flag_changes.append(message)
        if new:
            uids = self._own_uids()
            for message in new:
                uids.append(message.uid)
                self.messages[message.uid] = message
                if not rev2 and (recent_after is None or message.uid > recent_after):
                    self.recent.add(message.uid)
            out.append(CountData(len(self.uids), "EXISTS"))
            if not rev2:
                out.append(CountData(len(self.recent), "RECENT"))
        for message in flag_changes:
            seq = self.seq_of(message.uid)
            if seq is not None:
                out.append(FetchData(seq, self.flag_items(message, send_uid)))
        if changed:
            self.highest_modseq = ModSeq(max(self.highest_modseq, *(m.modseq for m in changed)))
        return out

    def flush_expunges(self, uids: Iterable[UID] = ()) -> list[Response]:
        """Announce pending expunges (and `uids`): VANISHED under QRESYNC, else EXPUNGE
        from the highest sequence number down so the numbers stay right."""
        self.expunged.update(u for u in uids if self.seq_of(u) is not None)
        gone = sorted(u for u in self.expunged if self.seq_of(u) is not None)
        self.expunged.clear()
        if not gone:
            return []
        out: list[Response] = []
        if self.qresync:
            out.append(VanishedData(compress(gone)))
        else:
            out += [CountData(self.seq_of(u) or 0, "EXPUNGE") for u in reversed(gone)]
        uids = self._own_uids()
        for uid in gone:
            index = bisect.bisect_left(uids, uid)
            del uids[index]
            self.messages.pop(uid, None)
            self.recent.discard(uid)
        return out

    def flag_items(self, message: Message, send_uid: bool) -> tuple[tuple[str, Value], ...]:
        items: list[tuple[str, Value]] = []
        if send_uid or self.qresync:
            items.append(("UID", message.uid))
        items.append(("FLAGS", flag_atoms(message.flags, message.uid in self.recent)))
        if self.condstore:
            items.append(("MODSEQ", [message.modseq]))
        return tuple(items)


def flag_atoms(flags: Iterable[str], recent: bool = False) -> list[Value]:
    atoms: list[Value] = [Atom(f) for f in sorted(flags)]
    if recent:
        atoms.append(Atom("\\Recent"))
    return atoms
