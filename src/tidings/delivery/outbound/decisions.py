"""Pure decisions of the scheduler: what to record for a recipient after an attempt,
and which recipients the sender hears about (RFC 3461 §4.1 NOTIFY; defaults: FAILURE
and DELAY). No I/O here, so the rules are tested without a queue or a network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tidings.delivery.outbound.backoff import RetrySchedule
from tidings.delivery.outbound.dsn import DSNAction, RecipientReport
from tidings.delivery.outbound.results import AttemptResult, Outcome
from tidings.model.queue import QueuedMessage, QueueRecipient, RecipientState

# RFC 3463 §3.5: "Delivery time expired", reported when we give up retrying.
EXPIRED = "4.4.7"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to record for one recipient, and the report for the sender if any."""

    address: str
    outcome: Outcome  # DELIVERED, TEMPORARY (retry at next_attempt_at) or PERMANENT
    error: str | None
    next_attempt_at: datetime | None
    bounce: RecipientReport | None = None  # set for a permanent failure to report


def wants_notice(notify: str | None, kind: str) -> bool:
    """RFC 3461 §4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY."""
    if notify is None:
        return kind in ("FAILURE", "DELAY")
    words = {w.strip().upper() for w in notify.split(",")}
    return "NEVER" not in words and kind in words


def due_recipients(message: QueuedMessage, now: datetime) -> list[QueueRecipient]:
    """Pending recipients whose next attempt time has come."""
    return [
        r for r in message.recipients
        if r.state is RecipientState.PENDING
        and (r.next_attempt_at is None or r.next_attempt_at <= now)
    ]


def decide(
    message: QueuedMessage,
    recipient: QueueRecipient,
    result: AttemptResult,
    schedule: RetrySchedule,
    now: datetime,
) -> Decision:
    """Delivered, retry later (backoff), or failed (5xx, or too old to keep trying)."""
    if result.outcome is Outcome.DELIVERED:
        return Decision(recipient.address, Outcome.DELIVERED, None, None)
    error = result.diagnostic
    status = result.enhanced or f"{result.code // 100}.0.0"
    if result.outcome is Outcome.TEMPORARY:
        next_at = schedule.next_attempt(message.created_at, recipient.attempts + 1, now)
        if next_at is not None:
            return Decision(recipient.address, Outcome.TEMPORARY, error, next_at)
        error = f"gave up after {_age(message, now)}: {error}"
        status = EXPIRED
    report = None
    if message.sender and wants_notice(recipient.notify, "FAILURE"):
        report = RecipientReport(
            address=recipient.address,
            action=DSNAction.FAILED,
            status=status,
            diagnostic=result.diagnostic,
            remote_mta=result.remote_mta,
            original_recipient=recipient.orcpt,
            last_attempt=now,
        )
    return Decision(recipient.address, Outcome.PERMANENT, error, None, report)


def delay_reports(
    message: QueuedMessage,
    deferred: Sequence[tuple[QueueRecipient, AttemptResult]],
    schedule: RetrySchedule,
    now: datetime,
) -> list[RecipientReport]:
    """The "delayed" reports due for this message now (sent once per message)."""
    if not message.sender or message.delay_notified:
        return []
    if not schedule.delay_notice_due(message.created_at, now):
        return []
    return [
        RecipientReport(
            address=recipient.address,
            action=DSNAction.DELAYED,
            status=result.enhanced or "4.0.0",
            diagnostic=result.diagnostic,
            remote_mta=result.remote_mta,
            original_recipient=recipient.orcpt,
            last_attempt=now,
            will_retry_until=schedule.deadline(message.created_at),
        )
        for recipient, result in deferred
        if wants_notice(recipient.notify, "DELAY")
    ]


def _age(message: QueuedMessage, now: datetime) -> str:
    hours = (now - message.created_at).total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
