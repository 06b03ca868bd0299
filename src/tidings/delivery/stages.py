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
from tidings.store.services import BlobRef

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StageInput:
    """What a stage may look at; `raw` already carries our Received: field."""

    sender: str
    recipients: tuple[ResolvedRecipient, ...]
    raw: bytes
    submitted_by: Principal | None
    peer_host: str
    helo: str = ""  # the client's EHLO/HELO name (SPF checks it, RFC 7208 §2.3)


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
    code: int = 451  # 4xx; used by envelope stages (RCPT time)


@dataclass(frozen=True, slots=True)
class FileInto:
    folder: str


@dataclass(frozen=True, slots=True)
class AddHeaders:
    fields: tuple[tuple[str, str], ...]
    # (field name, leading token): existing fields of that name whose value starts with
    # that token are removed first, e.g. forged Authentication-Results (RFC 8601 §5).
    remove: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Hold:
    """Keep the message out of every mailbox: the stage already stored it (as `blob`)
    in the quarantine; the pipeline stops and the sender gets a 250."""

    reason: str
    blob: BlobRef


Verdict = Accept | Reject | TempFail | FileInto | AddHeaders | Hold


class DeliveryStage(Protocol):
    """One filter of the pipeline."""

    name: str

    async def evaluate(self, message: StageInput) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class PipelineResult:
    folder: str | None = None  # the last FileInto wins
    added_fields: tuple[tuple[str, str], ...] = ()
    removed_fields: tuple[tuple[str, str], ...] = ()  # see AddHeaders.remove
    held: Hold | None = None  # quarantined: deliver nowhere


async def run_pipeline(stages: Sequence[DeliveryStage], message: StageInput) -> PipelineResult:
    """Run every stage in order. Raises PolicyRejection (permanent=False: tempfail)."""
    folder: str | None = None
    added: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    for stage in stages:
        verdict = await stage.evaluate(message)
        match verdict:
            case Accept():
                continue
            case Reject(code=code, enhanced=enhanced, text=text):
                log.info("delivery.rejected stage=%s code=%s", stage.name, enhanced)
                raise PolicyRejection(text, enhanced, permanent=True, code=code)
            case TempFail(text=text, enhanced=enhanced):
                log.info("delivery.tempfail stage=%s code=%s", stage.name, enhanced)
                raise PolicyRejection(text, enhanced, permanent=False)
            case FileInto(folder=name):
                folder = name
            case AddHeaders(fields=fields, remove=remove):
                added.extend(fields)
                removed.extend(remove)
            case Hold(reason=reason):
                log.info("delivery.held stage=%s reason=%s", stage.name, reason)
                return PipelineResult(folder, tuple(added), tuple(removed), verdict)
            case _:
                assert_never(verdict)
    return PipelineResult(folder, tuple(added), tuple(removed))


@dataclass(frozen=True, slots=True)
class EnvelopeInput:
    """What an envelope stage sees at RCPT time (before the message exists)."""

    peer_ip: str
    helo: str
    sender: str  # "" for the null reverse-path
    recipient: str
    first_recipient: bool  # the first RCPT of this transaction (count a message once)


class EnvelopeStage(Protocol):
    """A check run at RCPT time on the MX (DNSBL, greylisting, rate limits)."""

    name: str

    async def check(self, envelope: EnvelopeInput) -> Accept | Reject | TempFail: ...


def remove_fields(raw: bytes, removals: Sequence[tuple[str, str]]) -> bytes:
    """`raw` without the header fields named in `removals` (see AddHeaders.remove)."""
    if not removals:
        return raw
    wanted = {(name.lower(), token.lower()) for name, token in removals}
    end = raw.find(b"\r\n\r\n")
    head, body = (raw, b"") if end < 0 else (raw[: end + 2], raw[end + 2:])
    blocks: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and blocks:
            blocks[-1] += line
        else:
            blocks.append(line)
    kept = [b for b in blocks if not _is_removed(b, wanted)]
    return b"".join(kept) + body


def _is_removed(block: bytes, wanted: set[tuple[str, str]]) -> bool:
    name, sep, value = block.partition(b":")
    if not sep:
        return False
    words = value.decode("utf-8", "replace").replace(";", " ; ").split()
    first = words[0].lower() if words else ""
    return (name.strip().decode("ascii", "replace").lower(), first) in wanted
