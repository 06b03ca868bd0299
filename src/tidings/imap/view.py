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
from tidings.imap.wire import Atom, Value
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import Mailbox, Message


class BadSequence(Exception):
    """A message sequence number outside the mailbox (RFC 9051 §9 seq-number)."""


@dataclass(slots=True)
class MailboxView:
    mailbox: Mailbox
    readonly: bool
    uids: list[UID] = field(default_factory=list)
    messages: dict[UID, Message] = field(default_factory=dict)
    expunged: set[UID] = field(default_factory=set)  # gone from the store, not yet announced
    recent: set[UID] = field(default_factory=set)
    highest_modseq: ModSeq = field(default_factory=lambda: ModSeq(0))
    condstore: bool = False
    qresync: bool = False
    saved: tuple[UID, ...] = ()  # SEARCHRES "$" (RFC 5182)
    account_modseq: int = -1  # the owning account's modseq when last refreshed

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
        view.messages = {m.uid: m for m in messages}
        view.highest_modseq = max([mailbox.highest_modseq, *(m.modseq for m in messages)])
        return view

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
            return [
                (self.seq_of(UID(u)) or 0, self.messages[UID(u)])
                for u in sequence.select(self.uids)
            ]
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
        self, current: Sequence[Message], *, allow_expunge: bool, rev2: bool, send_uid: bool = False
    ) -> list[Response]:
        """Compare with the store's current list; return EXPUNGE/VANISHED, EXISTS,
        RECENT and FETCH FLAGS responses in a safe order."""
        out: list[Response] = []
        current_by_uid = {m.uid: m for m in current}
        for uid in self.uids:
            if uid not in current_by_uid:
                self.expunged.add(uid)
        if allow_expunge:
            out += self.flush_expunges()
        flag_changes: list[Message] = []
        for message in current:
            known = self.messages.get(message.uid)
            if known is None:
                continue
            if known.flags != message.flags or known.modseq != message.modseq:
                self.messages[message.uid] = message
                if known.flags != message.flags or self.condstore:
                    flag_changes.append(message)
        last = self.uids[-1] if self.uids else UID(0)
        new = [m for m in current if m.uid > last]
        if new:
            for message in new:
                self.uids.append(message.uid)
                self.messages[message.uid] = message
                if not rev2:
                    self.recent.add(message.uid)
            out.append(CountData(len(self.uids), "EXISTS"))
            if not rev2:
                out.append(CountData(len(self.recent), "RECENT"))
        for message in flag_changes:
            seq = self.seq_of(message.uid)
            if seq is not None:
                out.append(FetchData(seq, self.flag_items(message, send_uid)))
        if current:
            self.highest_modseq = ModSeq(max(self.highest_modseq, *(m.modseq for m in current)))
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
        for uid in gone:
            index = bisect.bisect_left(self.uids, uid)
            del self.uids[index]
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
