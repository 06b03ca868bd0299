"""The spam delivery stages: score (rules + classifier + sender lists), then explain
(X-Tidings-Spam-* fields), reject at DATA time, quarantine, or file into Junk.

`SpamStage` decides and adds the headers; `SpamFilingStage` (placed right after it)
turns a "junk" decision into a FileInto, since a stage returns one verdict."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tidings.delivery.stages import Accept, AddHeaders, FileInto, Reject, StageInput, Verdict
from tidings.hygiene.context import MessageContext, SpamSummary, context_for
from tidings.hygiene.quarantine import Quarantine, local_accounts
from tidings.hygiene.spam.bayes import Classification, TokenCounts, Totals, classify
from tidings.hygiene.spam.facts import ANALYSE_IN_THREAD_BYTES, MessageFacts, analyse
from tidings.hygiene.spam.rules import Hit, RuleLimits, bayes_rule, fired_rules, weigh, weights_of
from tidings.hygiene.spam.scorer import (
    Action,
    Decision,
    ListKind,
    Thresholds,
    account_action,
    combine_actions,
    list_verdict,
    rejection_text,
    spam_headers,
    total,
)
from tidings.hygiene.spam.settings import SpamSettings
from tidings.hygiene.spam.tokenizer import tokenize
from tidings.mime.headers import find_body_start, parse_headers
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store.services import SpamDataService, SpamLookup

log = logging.getLogger(__name__)

SPAM_FIELDS = ("X-Tidings-Spam-Flag", "X-Tidings-Spam-Score", "X-Tidings-Spam-Report")


@dataclass(frozen=True, slots=True)
class Scored:
    decision: Decision
    facts: MessageFacts
    classification: Classification | None


def thresholds_of(settings: SpamSettings) -> Thresholds:
    return Thresholds(settings.junk_threshold, settings.quarantine_threshold,
                      settings.reject_threshold)


class SpamScorer:
    """Scores one message for a set of recipient accounts (no side effects)."""

    def __init__(self, data: SpamDataService, settings: SpamSettings,
                 limits: RuleLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.data = data
        self.clock = clock
        self.settings = settings
        self.limits = limits or RuleLimits()
        self.thresholds = thresholds_of(settings)
        self._weights: dict[str, float] | None = None
        self._weights_at = 0.0
        self._untrained_until = 0.0  # monotonic time until which tokens are skipped

    async def weights(self) -> dict[str, float]:
        """Defaults < [spam.rules] < store overrides; the store is re-read every few seconds."""
        now = self.clock()
        if self._weights is None or now - self._weights_at >= self.settings.rule_cache_seconds:
            stored = await self.data.rule_weights()
            self._weights = weights_of({**self.settings.rules, **stored})
            self._weights_at = now
        return self._weights

    def classify(self, tokens: Sequence[str], found: SpamLookup) -> Classification | None:
        """The classifier's view, or None until it has learned enough of both classes."""
        spam, ham = found.totals
        if spam < self.settings.bayes_min_spam or ham < self.settings.bayes_min_ham:
            return None
        table = {token: TokenCounts(s, h) for token, (s, h) in found.counts.items()}
        return classify(tokens, table, Totals(spam, ham))

    async def score(
        self, raw: bytes, context: MessageContext | None, accounts: Sequence[AccountId],
        envelope_sender: str = "",
    ) -> Scored:
        facts = context.facts if context is not None else None
        if facts is None:
            if len(raw) >= ANALYSE_IN_THREAD_BYTES:
                facts = await asyncio.to_thread(analyse, raw)
            else:
                facts = analyse(raw)
            if context is not None:
                context.facts = facts
        fired, _ = fired_rules(facts, context, self.limits)
        weights = await self.weights()
        hits = weigh(fired, weights)
        # Until the classifier has learned enough it abstains, so its tokens are not
        # worth making; the totals are re-checked every rule_cache_seconds.
        untrained = self.clock() < self._untrained_until
        tokens = sorted(tokenize(facts)) if self.settings.bayes and not untrained else []
        # One read for the counts, the totals and the sender lists.
        scopes = [0, int(accounts[0])] if len(accounts) == 1 else [0]
        minimum = (self.settings.bayes_min_spam, self.settings.bayes_min_ham)
        found = await self.data.lookup(scopes, tokens, accounts, min_totals=minimum)
        if not untrained and (found.totals[0] < minimum[0] or found.totals[1] < minimum[1]):
            self._untrained_until = self.clock() + self.settings.rule_cache_seconds
        classification = (self.classify(tokens, found)
                          if self.settings.bayes and not untrained else None)
        if classification is not None:
            band = bayes_rule(classification.probability)
            if band is not None and weights.get(band, 0.0) != 0.0:
                hits.append(Hit(band, weights[band], f"p={classification.probability:.3f}"))
        score = total(hits)
        action, reason = self._action(score, facts, accounts, envelope_sender, found)
        decision = Decision(score, tuple(hits), action, reason,
                            classification.probability if classification else None)
        return Scored(decision, facts, classification)

    def _action(self, score: float, facts: MessageFacts, accounts: Sequence[AccountId],
                envelope_sender: str, found: SpamLookup) -> tuple[Action, str]:
        blocked = Action[self.settings.blocked_action.upper()]
        if not accounts:
            return account_action(score, self.thresholds, None, blocked)
        senders = [facts.from_address, envelope_sender.lower()]
        wishes = []
        for account in accounts:
            entries = [(e.pattern, ListKind(e.kind)) for e in found.senders.get(account, [])]
            wishes.append(account_action(score, self.thresholds,
                                         list_verdict(entries, senders), blocked))
        return combine_actions(wishes)


def forged_fields(raw: bytes) -> tuple[tuple[str, str], ...]:
    """Removal keys for X-Tidings-Spam-* fields that arrived with the message: only our
    own stage may set them (the learner trusts X-Tidings-Spam-Flag)."""
    headers = parse_headers(raw, 0, find_body_start(raw)[0])
    found = []
    for name in SPAM_FIELDS:
        for value in headers.get_all(name):
            words = value.replace(";", " ; ").split()
            found.append((name, words[0] if words else ""))
    return tuple(found)


class SpamStage:
    """Scores inbound mail; rejects, quarantines or adds the explanation fields."""

    name = "spam"

    def __init__(self, scorer: SpamScorer, quarantine: Quarantine | None) -> None:
        self.scorer = scorer
        self.quarantine = quarantine

    async def evaluate(self, message: StageInput) -> Verdict:
        settings = self.scorer.settings
        if message.submitted_by is not None and not settings.scan_submissions:
            return Accept()
        context = context_for(message)
        accounts = local_accounts(message)
        scored = await self.scorer.score(message.raw, context, accounts, message.sender)
        decision = scored.decision
        thresholds = self.scorer.thresholds
        context.spam = SpamSummary(decision.score, decision.action.word,
                                   tuple((h.name, h.score) for h in decision.hits))
        log.info("hygiene.spam score=%g action=%s reason=%s rules=%s", decision.score,
                 decision.action.word, decision.reason,
                 ",".join(h.name for h in decision.hits) or "-")
        fields = spam_headers(decision, thresholds)
        if decision.action is Action.REJECT:
            return Reject(550, "5.7.1", rejection_text(decision, thresholds))
        if decision.action is Action.QUARANTINE and self.quarantine is not None:
            return await self.quarantine.hold(
                message, "spam", score=decision.score, report=fields[2][1], fields=fields)
        return AddHeaders(fields, forged_fields(message.raw))


class SpamFilingStage:
    """Files a message the spam stage judged "junk" (or "quarantine" without a
    quarantine) into the recipients' Junk folder."""

    name = "spam-filing"

    async def evaluate(self, message: StageInput) -> Verdict:
        context = context_for(message)
        if context.spam is not None and context.spam.action in ("junk", "quarantine"):
            return FileInto(MailboxRole.JUNK)
        return Accept()
