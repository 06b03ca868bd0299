"""Process-wide IMAP state and the fast paths: shared mailbox snapshots (copy on write),
incremental view changes, the \\Recent tracker (RFC 3501 §2.3.2), the LOGIN and ENVELOPE
caches, full-text narrowing of SEARCH candidates and ESORT sequence sets (RFC 5267)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.unit.imap.test_session import NOW, encoded, mailbox, msg
from tidings.imap.commands.search import sorted_set
from tidings.imap.envelope_cache import EnvelopeCache
from tidings.imap.recent import RecentTracker
from tidings.imap.search_eval import required_uids
from tidings.imap.search_model import SearchAnd, SearchFlag, SearchNot, SearchOr, SearchText
from tidings.imap.snapshot import MessageMap, Snapshot, SnapshotRegistry
from tidings.imap.view import MailboxView
from tidings.model.ids import UID, MailboxId, ModSeq, PrincipalId
from tidings.model.mail import Message

SEEN = frozenset({"\\Seen"})


def shared() -> Snapshot:
    return Snapshot.build(7, 5, [msg(1), msg(2), msg(3)])


def test_views_on_one_snapshot_change_without_touching_it() -> None:
    snapshot = shared()
    first = MailboxView.from_snapshot(mailbox(), snapshot, readonly=False)
    second = MailboxView.from_snapshot(mailbox(), snapshot, readonly=False)
    assert first.uids is second.uids  # shared until one of them changes
    out = first.apply_changes([msg(2, SEEN, modseq=6), msg(4, modseq=6)], [UID(1)],
                              allow_expunge=True, rev2=True)
    assert encoded(out) == b"* 1 EXPUNGE\r\n* 3 EXISTS\r\n* 1 FETCH (FLAGS (\\Seen))\r\n"
    assert first.uids == [2, 3, 4] and first.messages[UID(2)].flags == SEEN
    assert snapshot.uids == [1, 2, 3] and snapshot.messages[UID(2)].flags == frozenset()
    assert second.uids == [1, 2, 3] and second.messages[UID(2)].flags == frozenset()
    assert UID(1) not in first.messages and UID(1) in second.messages


def test_apply_changes_ignores_unknown_and_unchanged_messages() -> None:
    view = MailboxView.from_snapshot(mailbox(), shared(), readonly=False)
    out = view.apply_changes([msg(2)], [UID(99)], allow_expunge=True, rev2=True)
    assert out == [] and view.uids == [1, 2, 3]


def test_apply_changes_holds_expunges_back_when_not_allowed() -> None:
    view = MailboxView.from_snapshot(mailbox(), shared(), readonly=False)
    assert view.apply_changes([], [UID(3)], allow_expunge=False, rev2=True) == []
    assert view.exists == 3 and view.is_expunged(UID(3))
    assert encoded(view.flush_expunges()) == b"* 3 EXPUNGE\r\n"


def test_new_messages_above_the_recent_floor_are_recent_in_rev1() -> None:
    view = MailboxView.from_snapshot(mailbox(), shared(), readonly=False)
    out = view.apply_changes([msg(4), msg(5)], [], allow_expunge=True, rev2=False,
                             recent_after=UID(4))
    assert encoded(out) == b"* 5 EXISTS\r\n* 1 RECENT\r\n"
    assert view.recent == {5}


def test_message_map_layers_own_changes_over_the_base() -> None:
    base = {UID(1): msg(1), UID(2): msg(2)}
    layered = MessageMap(base)
    layered[UID(2)] = msg(2, SEEN)
    assert layered.pop(UID(1)) == msg(1)
    assert UID(1) not in layered and layered.get(UID(1)) is None
    assert layered[UID(2)].flags == SEEN and base[UID(2)].flags == frozenset()
    layered[UID(1)] = msg(1, SEEN)
    assert layered[UID(1)].flags == SEEN and layered.own_count == 2


def test_snapshot_registry_keeps_the_newest_and_evicts_the_oldest() -> None:
    registry = SnapshotRegistry(max_snapshots=2)
    for box in (1, 2, 3):
        registry.put((MailboxId(box), PrincipalId(1)), shared())
    assert registry.get((MailboxId(1), PrincipalId(1))) is None
    assert registry.get((MailboxId(3), PrincipalId(1))) is not None
    assert Snapshot.build(7, 5, []).highest_modseq == ModSeq(0)


def test_snapshot_registry_is_bounded_by_messages_held() -> None:
    registry = SnapshotRegistry(max_messages=5)
    registry.put((MailboxId(1), PrincipalId(1)), shared())  # 3 messages
    registry.put((MailboxId(2), PrincipalId(1)), shared())  # 6 in all: the first goes
    assert len(registry) == 1 and registry.get((MailboxId(1), PrincipalId(1))) is None
    big = Snapshot.build(7, 5, [msg(u) for u in range(1, 10)])
    registry.put((MailboxId(3), PrincipalId(1)), big)  # alone over the bound: kept
    assert len(registry) == 1 and registry.get((MailboxId(3), PrincipalId(1))) is big


def saved(uid: int, when: datetime) -> Message:
    return Message(MailboxId(1), UID(uid), msg(uid).email_id, ModSeq(1), frozenset(), 1, when,
                   when, msg(uid).blob_id, 1)


def test_recent_is_claimed_by_the_first_session_only() -> None:
    tracker = RecentTracker(started_at=NOW)
    key = (MailboxId(1), 7)
    before, after = NOW - timedelta(hours=1), NOW + timedelta(minutes=1)
    listed = [saved(1, before), saved(2, before), saved(3, after)]
    assert tracker.mark(key, listed) == 2  # mail saved before start-up is not recent
    assert tracker.claim(key, listed) == 2  # this session: UID 3 is recent
    assert tracker.claim(key, listed) == 3  # the next one: nothing is
    assert tracker.claim(key, [*listed, saved(4, after)]) == 3
    assert tracker.claim((MailboxId(1), 8), listed) == 2  # new UIDVALIDITY, new marks



def test_envelope_cache_is_bounded_by_bytes() -> None:
    cache = EnvelopeCache(max_bytes=1000)
    for n in range(10):
        cache.put(f"blob{n}", b"x" * 200)
    assert len(cache) < 10 and "blob9" in cache and "blob0" not in cache
    assert cache.get("blob9") == b"x" * 200


def test_text_hits_narrow_the_candidates_only_where_they_decide() -> None:
    body, subject = SearchText("body", "x"), SearchText("subject", "y")
    hits = {body: frozenset({UID(1), UID(2)}), subject: frozenset({UID(2), UID(3)})}
    assert required_uids(body, hits) == frozenset({UID(1), UID(2)})
    both = SearchAnd((body, SearchFlag("\\Seen"), subject))
    assert required_uids(both, hits) == frozenset({UID(2)})
    assert required_uids(SearchOr(body, subject), hits) is None  # either may match
    assert required_uids(SearchNot(body), hits) is None
    assert required_uids(SearchAnd((SearchFlag("\\Seen"),)), hits) is None


def test_sorted_set_keeps_sort_order_and_collapses_ascending_runs() -> None:
    assert sorted_set([3, 7, 8, 9, 1]) == "3,7:9,1"
    assert sorted_set([4, 3, 2]) == "4,3,2"
    assert sorted_set([5]) == "5"
