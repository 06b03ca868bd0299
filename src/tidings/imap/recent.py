"""\\Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2): a message is recent to the first
session that is told about it, and to no other.

Per mailbox the process keeps the highest UID some session has claimed; a SELECT or a
refresh that reports messages above it claims them (they are \\Recent in that session
only) and moves the mark. EXAMINE sees the same messages as recent without claiming
them (RFC 3501 §6.3.2). The mark starts, the first time a mailbox is seen, below the
first message saved after this process started, so mail that arrived since start-up
and before any session looked is recent to the first one that does. The marks live
in this process: after a restart, mail that arrived while the server was down is not
\\Recent; with several processes each one keeps its own marks (IMAP4rev2 dropped
\\Recent, RFC 9051 §2.3.2, so only rev1 clients can notice).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from tidings.model.ids import UID, MailboxId
from tidings.model.mail import Message

MailboxKey = tuple[MailboxId, int]  # (mailbox, UIDVALIDITY): a new UIDVALIDITY starts over


class RecentTracker:
    """The highest UID claimed per mailbox, shared by every session of the process."""

    def __init__(self, started_at: datetime | None = None) -> None:
        self.started_at = started_at or datetime.now(UTC)
        self._marks: dict[MailboxKey, int] = {}

    def known(self, key: MailboxKey) -> int | None:
        """The highest claimed UID, or None if no session has looked at the mailbox yet."""
        return self._marks.get(key)

    def mark(self, key: MailboxKey, messages: Iterable[Message]) -> int:
        """The highest claimed UID; on first sight, the last message saved before start-up."""
        found = self._marks.get(key)
        if found is None:
            older = [m.uid for m in messages if _aware(m.saved_at) < self.started_at]
            found = self._marks[key] = max(older, default=0)
        return found

    def claim(self, key: MailboxKey, messages: Iterable[Message]) -> UID:
        """Claim every message above the mark; returns the old mark (messages above it
        are \\Recent to the caller)."""
        chosen = list(messages)
        previous = self.mark(key, chosen)
        highest = max((m.uid for m in chosen), default=0)
        if highest > previous:
            self._marks[key] = highest
        return UID(previous)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
