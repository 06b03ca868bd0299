"""The delivery hook point: a `DeliveryStage` looks at a message and returns a typed
verdict; a pipeline is a list of stages (empty by default) where spam, DLP, transport
rules, Sieve and journaling plug in later (ARCHITECTURE.md, "Inbound mail")."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, assert_never

from tidings.delivery.recipients import ResolvedRecipient
from tidings.model.directory import Principal
from tidings.model.errors import PolicyRejection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StageInput:
    """What a stage may look at; `raw` already carries our Received: field."""

    sender: str
    recipients: tuple[ResolvedRecipient, ...]
    raw: bytes
    submitted_by: Principal | None
    peer_host: str


@dataclass(frozen=True, slots=True)
class Accept:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    code: int  # 5xx
    enhanced: str
    text: str


@dataclass(frozen=True, slots=True)
class TempFail:
    text: str
    enhanced: str = "4.7.0"


@dataclass(frozen=True, slots=True)
class FileInto:
    folder: str


@dataclass(frozen=True, slots=True)
class AddHeaders:
    fields: tuple[tuple[str, str], ...]


Verdict = Accept | Reject | TempFail | FileInto | AddHeaders


class DeliveryStage(Protocol):
    """One filter of the pipeline."""

    name: str

    async def evaluate(self, message: StageInput) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class PipelineResult:
    folder: str | None = None  # the last FileInto wins
    added_fields: tuple[tuple[str, str], ...] = ()


async def run_pipeline(stages: Sequence[DeliveryStage], message: StageInput) -> PipelineResult:
    """Run every stage in order. Raises PolicyRejection (permanent=False: tempfail)."""
    folder: str | None = None
    added: list[tuple[str, str]] = []
    for stage in stages:
        verdict = await stage.evaluate(message)
        match verdict:
            case Accept():
                continue
            case Reject(code=_, enhanced=enhanced, text=text):
                log.info("delivery.rejected stage=%s code=%s", stage.name, enhanced)
                raise PolicyRejection(text, enhanced, permanent=True)
            case TempFail(text=text, enhanced=enhanced):
                log.info("delivery.tempfail stage=%s code=%s", stage.name, enhanced)
                raise PolicyRejection(text, enhanced, permanent=False)
            case FileInto(folder=name):
                folder = name
            case AddHeaders(fields=fields):
                added.extend(fields)
            case _:
                assert_never(verdict)
    return PipelineResult(folder, tuple(added))
