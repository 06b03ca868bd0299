"""The spam and quarantine store contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.backends.helpers import account, headers, make_principal
from tidings.model.errors import Conflict, InvalidInput, NotFound
from tidings.model.ids import AccountId, BlobId, ModSeq
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore
from tidings.store.services import BlobRef, NewQuarantined


async def test_learning_counts_tokens_per_scope_and_globally(store: SQLStore) -> None:
    alice = account(await make_principal(store, "alice"))
    bob = account(await make_principal(store, "bob"))
    spam = store.spam
    assert await spam.learn(alice, BlobId("b1"), ["cheap", "pills"], True)
    assert await spam.learn(bob, BlobId("b2"), ["cheap", "meeting"], False)
    assert await spam.totals([0]) == (1, 1)
    assert await spam.totals([0, int(alice)]) == (2, 1)
    assert await spam.token_counts([0], ["cheap", "pills", "unknown"]) == {
        "cheap": (1, 1), "pills": (1, 0)}
    assert await spam.token_counts([int(alice)], ["cheap"]) == {"cheap": (1, 0)}
    stats = await spam.stats(0)
    assert (stats.spam_messages, stats.ham_messages, stats.tokens) == (1, 1, 3)


async def test_relearning_the_same_class_is_a_no_op_and_the_other_class_moves_it(
    store: SQLStore,
) -> None:
    alice = account(await make_principal(store, "alice"))
    spam = store.spam
    assert await spam.learn(alice, BlobId("b1"), ["cheap"], True)
    assert not await spam.learn(alice, BlobId("b1"), ["cheap"], True)
    assert await spam.learn(alice, BlobId("b1"), ["cheap"], False)
    assert await spam.totals([0]) == (0, 1)
    assert await spam.token_counts([0], ["cheap"]) == {"cheap": (0, 1)}


async def test_sender_lists_are_per_account_and_replace_by_pattern(store: SQLStore) -> None:
    alice = account(await make_principal(store, "alice"))
    spam = store.spam
    await spam.add_sender(alice, "Friend@Example.org", "safe")
    await spam.add_sender(alice, "spam.example", "blocked")
    await spam.add_sender(alice, "friend@example.org", "blocked")
    lists = await spam.sender_lists([alice])
    assert [(e.pattern, e.kind) for e in lists[alice]] == [
        ("friend@example.org", "blocked"), ("spam.example", "blocked")]
    await spam.remove_sender(alice, "spam.example")
    with pytest.raises(NotFound):
        await spam.remove_sender(alice, "spam.example")
    with pytest.raises(InvalidInput):
        await spam.add_sender(alice, "x@y", "maybe")
    with pytest.raises(NotFound):
        await spam.add_sender(AccountId(999999), "x@y", "safe")


async def test_rule_weights_are_stored_overrides(store: SQLStore) -> None:
    await store.spam.set_rule_weight("HTML_ONLY", 2.5)
    assert await store.spam.rule_weights() == {"HTML_ONLY": 2.5}
    await store.spam.set_rule_weight("HTML_ONLY", None)
    assert await store.spam.rule_weights() == {}


async def test_the_learner_reads_email_changes_and_keeps_its_position(store: SQLStore) -> None:
    alice_p = await make_principal(store, "alice")
    alice = account(alice_p)
    blob = await store.blobs.put(b"Subject: x\r\n\r\nbody")
    [copy] = await store.mail.deliver([(alice, MailboxRole.INBOX)], blob, headers())
    [position] = [p for p in await store.spam.learner_positions() if p.account_id == alice]
    assert position.learned_modseq == 0
    batch = await store.spam.email_changes(alice, ModSeq(0))
    assert [c.object_id for c in batch.changes] == [int(copy.appended.email_id)]
    assert await store.spam.email_blobs([int(copy.appended.email_id)]) == {
        int(copy.appended.email_id): blob.id}
    roles = await store.spam.mailbox_roles(alice)
    assert "junk" in roles.values()
    await store.spam.set_learner_position(alice, position.highest_modseq)
    assert all(p.account_id != alice for p in await store.spam.learner_positions())


async def test_quarantine_holds_lists_and_resolves_once(store: SQLStore) -> None:
    alice = account(await make_principal(store, "alice"))
    blob = await store.blobs.put(b"Subject: held\r\n\r\nbody")
    q = store.quarantine
    entry = await q.hold(NewQuarantined("x@spam.example", ("alice@example.test",), (alice,),
                                        BlobRef(blob.id, blob.size), "spam", 12.5,
                                        "score=12.5", "held", "x@spam.example"))
    listed = await q.list()
    assert [e.id for e in listed] == [entry.id]
    assert [e.id for e in await q.list(account=alice)] == [entry.id]
    assert await q.list(account=AccountId(int(alice) + 1000)) == []
    got = await q.get(entry.id)
    assert got.held.score == 12.5 and got.held.account_ids == (alice,)
    released = await q.resolve(entry.id, "released", "admin@example.test")
    assert released.status == "released" and released.resolved_by == "admin@example.test"
    with pytest.raises(Conflict):
        await q.resolve(entry.id, "deleted", "admin@example.test")
    assert await q.list() == []
    with pytest.raises(NotFound):
        await q.get(entry.id + 100)


async def test_lookup_reads_totals_counts_and_sender_lists_together(store: SQLStore) -> None:
    alice = account(await make_principal(store, "alice"))
    await store.spam.learn(alice, BlobId("b1"), ["cheap", "pills"], True)
    await store.spam.add_sender(alice, "friend.example", "safe")
    found = await store.spam.lookup([0, int(alice)], ["cheap", "nothing"], [alice])
    assert found.totals == (2, 0)
    assert found.counts == {"cheap": (2, 0)}
    assert [e.pattern for e in found.senders[alice]] == ["friend.example"]


async def test_lookup_skips_token_counts_until_the_classifier_has_learned_enough(
    store: SQLStore,
) -> None:
    alice = account(await make_principal(store, "alice"))
    await store.spam.learn(alice, BlobId("b1"), ["cheap", "pills"], True)
    await store.spam.add_sender(alice, "friend.example", "safe")
    untrained = await store.spam.lookup([0, int(alice)], ["cheap"], [alice], min_totals=(1, 1))
    assert untrained.totals == (2, 0) and untrained.counts == {}
    assert [e.pattern for e in untrained.senders[alice]] == ["friend.example"]
    await store.spam.learn(alice, BlobId("b2"), ["cheap", "lunch"], False)
    trained = await store.spam.lookup([0, int(alice)], ["cheap"], [alice], min_totals=(1, 1))
    assert trained.totals == (2, 2) and trained.counts == {"cheap": (2, 2)}
