"""Full-text search: words in body, subject and addresses; user text is never syntax."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.backends.helpers import Mailer, account, headers, inbox, make_principal
from tidings.model.directory import Principal
from tidings.model.ids import UID, MailboxId
from tidings.model.mail import DELETED, FlagOperation
from tidings.store import SQLStore


@dataclass
class Box:
    store: SQLStore
    owner: Principal
    id: MailboxId


@pytest.fixture
async def mailbox(store: SQLStore) -> Box:
    alice = await make_principal(store, "alice")
    box = await inbox(store, alice)
    mailer = Mailer(store)
    await mailer.append(alice, box, headers(
        "Quarterly report", text="The numbers for Q3 look great. Café on Friday?",
        from_="Carol Danvers <carol@example.org>", to="team@example.test"))
    await mailer.append(alice, box, headers(
        "Lunch", text="Shall we meet at noon near the station?",
        from_="dave@example.net"))
    await mailer.append(alice, box, headers(
        'Say "hello" OR else * NEAR(x)', text="weird subject line",
        from_="eve@example.com"))
    return Box(store, alice, box)


async def _search(box: Box, query: str, field: str = "text") -> list[int]:
    return list(await box.store.mail.search_text(box.owner, box.id, query, field=field))


async def test_search_finds_words_in_body_subject_and_from(
    mailbox: Box,
) -> None:
    assert await _search(mailbox, "numbers") == [1]
    assert await _search(mailbox, "station noon") == [2]
    assert await _search(mailbox, "REPORT", "subject") == [1]
    assert await _search(mailbox, "report", "body") == []
    assert await _search(mailbox, "carol", "from") == [1]
    assert await _search(mailbox, "carol@example.org", "from") == [1]
    assert await _search(mailbox, "dave", "from") == [2]
    assert await _search(mailbox, "dave", "to") == []
    assert await _search(mailbox, "team", "to") == [1]
    assert await _search(mailbox, "cafe") == [1]  # diacritics fold both ways
    assert await _search(mailbox, "CAFÉ") == [1]


async def test_search_needs_every_word_and_whole_words(
    mailbox: Box,
) -> None:
    assert await _search(mailbox, "numbers lunch") == []
    assert await _search(mailbox, "numb") == []
    assert await _search(mailbox, "") == [1, 2, 3]  # no words: every message


# (user text, expected UIDs): FTS5 and tsquery syntax are ordinary words or separators.
INJECTION_CASES: list[tuple[str, list[int]]] = [
    ('"', [1, 2, 3]), ('""', [1, 2, 3]), ("* ", [1, 2, 3]), ("(", [1, 2, 3]), ("\\", [1, 2, 3]),
    ('"hello', [3]), ("hello*", [3]), ("^hello", [3]), ("-hello", [3]), ("hello\x00", [3]),
    ("NEAR(x", [3]), ("NEAR(hello else)", [3]), ("subject:hello", [3]),
    ("{subject}: hello", [3]), ("hello & else | !x", [3]), ("hello:*", [3]),
    ("hello OR numbers", []), ("hello AND", []), ("NOT hello", []),
    ("'; DROP TABLE emails; --", []),
]


async def test_search_treats_query_syntax_as_plain_words(
    mailbox: Box,
) -> None:
    for query, expected in INJECTION_CASES:
        assert await _search(mailbox, query) == expected, query
    assert await _search(mailbox, "numbers") == [1]  # the index is intact


async def test_search_operators_do_not_widen_the_match(
    mailbox: Box,
) -> None:
    assert await _search(mailbox, "hello OR numbers") == []  # all three words needed
    assert await _search(mailbox, "hello OR") == [3]
    assert await _search(mailbox, "NEAR(x)") == [3]


async def test_search_forgets_expunged_messages(
    mailbox: Box,
) -> None:
    mail, alice = mailbox.store.mail, mailbox.owner
    await mail.store_flags(alice, mailbox.id, [UID(1)], FlagOperation.ADD, frozenset({DELETED}))
    await mail.expunge(alice, mailbox.id)
    assert await _search(mailbox, "numbers") == []


async def test_copied_message_is_found_in_the_target(
    mailbox: Box,
) -> None:
    mail, alice = mailbox.store.mail, mailbox.owner
    other = await mail.create_mailbox(alice, account(alice), "Copies")
    await mail.copy(alice, mailbox.id, [UID(2)], other.id)
    assert list(await mail.search_text(alice, other.id, "station")) == [1]
