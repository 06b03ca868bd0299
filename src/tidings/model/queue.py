"""The outbound queue: a message and its per-recipient delivery state."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tidings.model.ids import BlobId, PrincipalId, QueueId


class RecipientState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # permanent failure; a bounce was generated


@dataclass(frozen=True, slots=True)
class QueueRecipient:
    address: str
    state: RecipientState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    notify: str | None = None  # RFC 3461 NOTIFY
    orcpt: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: QueueId
    sender: str  # envelope MAIL FROM; "" for a bounce
    blob_id: BlobId
    size: int
    created_at: datetime
    recipients: tuple[QueueRecipient, ...]
    submitted_by: PrincipalId | None = None
    dsn_ret: str | None = None
    dsn_envid: str | None = None
    delay_notified: bool = False
