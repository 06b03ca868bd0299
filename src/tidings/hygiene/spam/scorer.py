"""From rule hits, the classifier and the recipients' sender lists to one explainable
decision: deliver, file into Junk, quarantine or reject, with the headers that say why."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tidings.hygiene.spam.rules import Hit


class Action(enum.IntEnum):
    """Ordered by severity: a message gets the least severe action any recipient wants."""

    DELIVER = 0
    JUNK = 1
    QUARANTINE = 2
    REJECT = 3

    @property
    def word(self) -> str:
        return self.name.lower()


class ListKind(enum.StrEnum):
    SAFE = "safe"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Thresholds:
    junk: float = 5.0
    quarantine: float | None = None  # None: no quarantine band
    reject: float | None = 15.0  # None: never reject at SMTP time

    def action_for(self, score: float) -> Action:
        if self.reject is not None and score >= self.reject:
            return Action.REJECT
        if self.quarantine is not None and score >= self.quarantine:
            return Action.QUARANTINE
        if score >= self.junk:
            return Action.JUNK
        return Action.DELIVER


@dataclass(frozen=True, slots=True)
class Decision:
    score: float
    hits: tuple[Hit, ...]
    action: Action
    reason: str  # "score", "safe sender", "blocked sender"
    bayes: float | None = None  # the classifier's probability, when it was asked

    @property
    def is_spam(self) -> bool:
        return self.action is not Action.DELIVER


def matches_sender(pattern: str, address: str) -> bool:
    """"user@example.com" matches that address; "example.com" or "@example.com" matches
    the domain and its subdomains. Case-insensitive."""
    pattern = pattern.strip().lower()
    address = address.strip().lower()
    if not pattern or not address:
        return False
    if "@" in pattern.lstrip("@"):
        return pattern == address
    domain = pattern.lstrip("@")
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


def list_verdict(
    entries: Iterable[tuple[str, ListKind]], senders: Sequence[str]
) -> ListKind | None:
    """Blocked wins over safe when both match (an explicit block is the stronger wish)."""
    found: set[ListKind] = set()
    for pattern, kind in entries:
        if any(matches_sender(pattern, sender) for sender in senders if sender):
            found.add(kind)
    if ListKind.BLOCKED in found:
        return ListKind.BLOCKED
    return ListKind.SAFE if ListKind.SAFE in found else None


def account_action(
    score: float, thresholds: Thresholds, listed: ListKind | None, blocked_action: Action
) -> tuple[Action, str]:
    """One recipient's action: its sender lists first, then the thresholds."""
    if listed is ListKind.SAFE:
        return Action.DELIVER, "safe sender"
    if listed is ListKind.BLOCKED:
        return blocked_action, "blocked sender"
    return thresholds.action_for(score), "score"


def combine_actions(actions: Sequence[tuple[Action, str]]) -> tuple[Action, str]:
    """The least severe wish wins, so no recipient loses mail they asked for."""
    return min(actions, key=lambda item: item[0])


def total(hits: Iterable[Hit]) -> float:
    return round(sum(hit.score for hit in hits), 2)


def report(decision: Decision, thresholds: Thresholds) -> str:
    """The X-Tidings-Spam-Report value: action, limits and every rule with its score."""
    limits = [f"junk={thresholds.junk:g}"]
    if thresholds.quarantine is not None:
        limits.append(f"quarantine={thresholds.quarantine:g}")
    if thresholds.reject is not None:
        limits.append(f"reject={thresholds.reject:g}")
    rules = ", ".join(f"{hit.name}={hit.score:+g}" for hit in decision.hits) or "none"
    why = "" if decision.reason == "score" else f" ({decision.reason})"
    return (
        f"action={decision.action.word}{why} score={decision.score:g} "
        f"{' '.join(limits)}; rules: {rules}"
    )


def spam_headers(decision: Decision, thresholds: Thresholds) -> tuple[tuple[str, str], ...]:
    """The explanation every scored message carries."""
    return (
        ("X-Tidings-Spam-Flag", "YES" if decision.is_spam else "NO"),
        ("X-Tidings-Spam-Score", f"{decision.score:g}"),
        ("X-Tidings-Spam-Report", report(decision, thresholds)),
    )


def rejection_text(decision: Decision, thresholds: Thresholds) -> str:
    """The 550 text: the score, the limit and the strongest rules."""
    strongest = sorted(decision.hits, key=lambda hit: -hit.score)[:4]
    rules = ", ".join(f"{hit.name}={hit.score:g}" for hit in strongest)
    if decision.reason == "blocked sender":
        return f"Message refused: the sender is blocked by the recipient (score {decision.score:g})"
    return (
        f"Message rejected as spam (score {decision.score:g} >= {thresholds.reject:g}; {rules})"
    )
