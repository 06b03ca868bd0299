"""Search query building and thread references: pure functions, no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.store.search import check_field, fts5_query, words
from tidings.store.sql.threads import message_id_forms, referenced_ids


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello, World!", ["hello", "world"]),
    ("Café déjà-vu", ["cafe", "deja", "vu"]),
    ("alice@example.org", ["alice", "example", "org"]),
    ("snake_case x2", ["snake", "case", "x2"]),
    ('"NEAR(a b)" OR *', ["near", "a", "b", "or"]),
    ("", []),
])
def test_words_fold_case_and_diacritics_and_split_punctuation(
    text: str, expected: list[str]
) -> None:
    assert words(text) == expected


def test_fts5_query_quotes_every_word_and_joins_with_and() -> None:
    assert fts5_query('hello "world" OR') == '"hello" AND "world" AND "or"'
    assert fts5_query('" * ( ^') is None


@given(st.text())
def test_fts5_query_is_only_quoted_words(text: str) -> None:
    query = fts5_query(text)
    if query is None:
        assert words(text) == []
        return
    for term in query.split(" AND "):
        assert term.startswith('"') and term.endswith('"')
        assert '"' not in term[1:-1] and term[1:-1]


def test_unknown_search_field_is_refused() -> None:
    assert check_field("from") == "from_"
    assert check_field("text") is None
    with pytest.raises(ValueError):
        check_field("header")


def test_referenced_ids_put_in_reply_to_first_then_newest_reference() -> None:
    assert referenced_ids("<c@x>", "<a@x> <b@x>\r\n <c@x>") == ["c@x", "b@x", "a@x"]
    assert referenced_ids("", "no brackets") == []
    assert message_id_forms(["a@x"]) == ["<a@x>", "a@x"]
