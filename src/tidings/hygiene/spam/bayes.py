"""Robinson's token probabilities combined with Fisher's chi-square method, as
SpamBayes and Bogofilter do (Gary Robinson, "A Statistical Approach to the Spam
Problem", 2003). Pure arithmetic over token counts; the store keeps the counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """How many spam and ham messages carried a token."""

    spam: int = 0
    ham: int = 0


@dataclass(frozen=True, slots=True)
class Totals:
    """How many spam and ham messages were learned in a scope."""

    spam: int = 0
    ham: int = 0


@dataclass(frozen=True, slots=True)
class BayesParameters:
    strength: float = 0.45  # s: how much weight the unknown-word prior gets
    prior: float = 0.5  # x: the probability of a never-seen token
    min_deviation: float = 0.1  # tokens with |f - 0.5| below this are ignored
    max_clues: int = 150  # only the most extreme tokens are combined
    floor: float = 0.0001  # keep logarithms finite


@dataclass(frozen=True, slots=True)
class Classification:
    probability: float  # 0 = ham, 1 = spam, 0.5 = cannot tell
    clues: tuple[tuple[str, float], ...] = ()  # the strongest tokens, for reports


def token_probability(
    counts: TokenCounts, totals: Totals, params: BayesParameters = BayesParameters()
) -> float:
    """Robinson's f(w): the spam ratio p(w) pulled towards `prior` for rare tokens."""
    spam_ratio = counts.spam / totals.spam if totals.spam else 0.0
    ham_ratio = counts.ham / totals.ham if totals.ham else 0.0
    n = counts.spam + counts.ham
    if spam_ratio + ham_ratio == 0.0:
        return params.prior
    p = spam_ratio / (spam_ratio + ham_ratio)
    return (params.strength * params.prior + n * p) / (params.strength + n)


def chi2q(chi2: float, degrees: int) -> float:
    """P(X >= chi2) for a chi-square variable with even `degrees` of freedom."""
    assert degrees % 2 == 0
    m = chi2 / 2.0
    term = math.exp(-m)
    total = term
    for i in range(1, degrees // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def combine(probabilities: Iterable[float], params: BayesParameters = BayesParameters()) -> float:
    """Fisher's method both ways: I = (1 + S - H) / 2 (SpamBayes' chi2_spamprob)."""
    logs_spam = 0.0
    logs_ham = 0.0
    n = 0
    for p in probabilities:
        p = min(max(p, params.floor), 1.0 - params.floor)
        logs_spam += math.log(1.0 - p)
        logs_ham += math.log(p)
        n += 1
    if n == 0:
        return 0.5
    spamminess = 1.0 - chi2q(-2.0 * logs_spam, 2 * n)
    hamminess = 1.0 - chi2q(-2.0 * logs_ham, 2 * n)
    return (1.0 + spamminess - hamminess) / 2.0


def classify(
    tokens: Iterable[str],
    counts: Mapping[str, TokenCounts],
    totals: Totals,
    params: BayesParameters = BayesParameters(),
) -> Classification:
    """Probability that a message with these tokens is spam, and its strongest clues."""
    scored: list[tuple[float, str, float]] = []
    for token in set(tokens):
        found = counts.get(token)
        if found is None:
            continue
        f = token_probability(found, totals, params)
        deviation = abs(f - params.prior)
        if deviation >= params.min_deviation:
            scored.append((deviation, token, f))
    scored.sort(key=lambda item: (-item[0], item[1]))
    clues = scored[: params.max_clues]
    probability = combine((f for _, _, f in clues), params)
    return Classification(probability, tuple((token, f) for _, token, f in clues[:10]))
