"""The scorer spares the classifier's work while it has not learned enough."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import cast

from tidings.hygiene.spam.settings import SpamSettings
from tidings.hygiene.spam.stage import SpamScorer
from tidings.model.ids import AccountId
from tidings.store.services import SpamDataService, SpamLookup

from .messages import plain


@dataclass
class Counting:
    totals: tuple[int, int]
    asked: list[list[str]] = field(default_factory=list)

    async def lookup(self, scopes: Sequence[int], tokens: Sequence[str],
                     accounts: Sequence[AccountId], *,
                     min_totals: tuple[int, int] = (0, 0)) -> SpamLookup:
        self.asked.append(list(tokens))
        trained = self.totals[0] >= min_totals[0] and self.totals[1] >= min_totals[1]
        counts = {t: (9, 0) for t in tokens} if trained else {}
        return SpamLookup(self.totals, counts, {a: [] for a in accounts})

    async def rule_weights(self) -> dict[str, float]:
        return {}


async def test_tokens_are_skipped_while_untrained_and_made_again_after_the_recheck() -> None:
    now = [1000.0]
    data = Counting(totals=(1, 1))
    settings = replace(SpamSettings(), bayes_min_spam=5, bayes_min_ham=5, rule_cache_seconds=30)
    scorer = SpamScorer(cast(SpamDataService, data), settings, clock=lambda: now[0])
    raw = plain(subject="Cheap watches", body="cheap cheap watches\r\n")
    first = await scorer.score(raw, None, [AccountId(1)])
    second = await scorer.score(raw, None, [AccountId(1)])
    assert data.asked[0] and data.asked[1] == []  # untrained: the second makes none
    assert first.classification is None and second.classification is None
    data.totals = (50, 50)  # the learner catches up
    now[0] += 31
    third = await scorer.score(raw, None, [AccountId(1)])
    assert data.asked[2] == data.asked[0]
    assert third.classification is not None and third.classification.probability > 0.5
