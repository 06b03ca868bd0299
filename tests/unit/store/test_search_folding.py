"""`words` takes a shortcut for ASCII text; it must fold exactly like the full path."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tidings.store.search import MAX_WORD_CHARS, words


def reference_words(text: str) -> list[str]:
    """The full Unicode folding: NFKD, combining marks dropped, casefold."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return [w for w in re.findall(r"[^\W_]+", stripped) if len(w) <= MAX_WORD_CHARS]


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_words_of_ascii_text_match_the_full_unicode_folding(text: str) -> None:
    assert words(text) == reference_words(text)


@given(st.text())
def test_words_of_any_text_match_the_full_unicode_folding(text: str) -> None:
    assert words(text) == reference_words(text)
