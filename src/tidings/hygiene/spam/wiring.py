"""Builds the antivirus and spam delivery stages and the learner from the [spam] and
[antivirus] settings; called by the SMTP wiring and by tidings.server."""

from __future__ import annotations

from tidings.config import Settings
from tidings.delivery.stages import DeliveryStage
from tidings.hygiene.antivirus import AntivirusStage
from tidings.hygiene.quarantine import Quarantine
from tidings.hygiene.spam.learner import SpamLearner
from tidings.hygiene.spam.stage import SpamFilingStage, SpamScorer, SpamStage
from tidings.store.services import Store


def quarantine_of(store: Store) -> Quarantine:
    return Quarantine(store.quarantine, store.blobs, store.mail)


def build_spam_stages(settings: Settings, store: Store) -> tuple[DeliveryStage, ...]:
    """Antivirus (when configured), then spam scoring and Junk filing (when enabled).
    They run after the sender-authentication stages, whose results they read."""
    stages: list[DeliveryStage] = []
    quarantine = quarantine_of(store)
    if settings.antivirus.active:
        stages.append(AntivirusStage(settings.antivirus, quarantine))
    if settings.spam.enabled:
        scorer = SpamScorer(store.spam, settings.spam)
        stages.extend((SpamStage(scorer, quarantine), SpamFilingStage()))
    return tuple(stages)


def build_learner(settings: Settings, store: Store) -> SpamLearner | None:
    """The learner task's worker, or None when learning is off."""
    if not (settings.spam.enabled and settings.spam.learn):
        return None
    return SpamLearner(store.spam, store.blobs, poll_seconds=settings.spam.learn_poll_seconds)
