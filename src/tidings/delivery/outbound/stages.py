"""The hook where outbound filters plug in before a message leaves: a list of stages,
each returning the bytes to send (DKIM signing, RFC 6376, is the first planned one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tidings.model.ids import QueueId


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What a stage may look at: the envelope and the queued bytes."""

    queue_id: QueueId
    sender: str
    recipients: tuple[str, ...]
    content: bytes


class OutboundStage(Protocol):
    """One outbound filter; must be deterministic enough to run again on a retry."""

    name: str

    async def process(self, message: OutboundMessage) -> bytes:
        """The content to send, e.g. with a DKIM-Signature field prepended."""


async def run_stages(stages: Sequence[OutboundStage], message: OutboundMessage) -> bytes:
    """Apply every stage in order; each sees the previous stage's output."""
    content = message.content
    for stage in stages:
        content = await stage.process(
            OutboundMessage(message.queue_id, message.sender, message.recipients, content)
        )
    return content
