"""Robinson/Fisher combining: known values, direction, and training effects."""

from __future__ import annotations

import math

import pytest

from tidings.hygiene.spam.bayes import (
    TokenCounts,
    Totals,
    chi2q,
    classify,
    combine,
    token_probability,
)


def test_chi2q_matches_the_closed_form_for_two_degrees() -> None:
    for x in (0.5, 2.0, 10.0):
        assert chi2q(x, 2) == pytest.approx(math.exp(-x / 2))


def test_chi2q_of_zero_is_one() -> None:
    assert chi2q(0.0, 10) == pytest.approx(1.0)


def test_an_unseen_token_sits_at_the_prior() -> None:
    assert token_probability(TokenCounts(), Totals(10, 10)) == 0.5


def test_a_token_seen_only_in_spam_leans_spam_and_more_with_more_evidence() -> None:
    once = token_probability(TokenCounts(1, 0), Totals(10, 10))
    often = token_probability(TokenCounts(9, 0), Totals(10, 10))
    assert 0.5 < once < often < 1.0


def test_combining_spammy_and_hammy_clues() -> None:
    assert combine([0.99] * 20) > 0.99
    assert combine([0.01] * 20) < 0.01
    assert combine([0.99] * 10 + [0.01] * 10) == pytest.approx(0.5, abs=0.05)
    assert combine([]) == 0.5


def test_classify_uses_only_known_and_decisive_tokens() -> None:
    counts = {"viagra": TokenCounts(20, 0), "meeting": TokenCounts(0, 20),
              "the": TokenCounts(20, 20)}
    totals = Totals(20, 20)
    spam = classify({"viagra", "the", "unknown"}, counts, totals)
    ham = classify({"meeting", "the"}, counts, totals)
    assert spam.probability > 0.9
    assert ham.probability < 0.1
    assert [token for token, _ in spam.clues] == ["viagra"]
