"""Learning from users: a background task reads every account's change log (the one
log, ARCHITECTURE.md rule 2) and trains the classifier when a message lands in Junk
by a user's hand (spam) or leaves Junk for another folder (ham), whatever protocol
did it: IMAP MOVE/COPY, JMAP, EWS, EAS all end in the same change records.

A move inside an account is logged as "destroyed" in the source and "created" in the
target with the same email id and modseq (store/sql/membership.py). Deliveries the
spam stage itself filed into Junk carry `X-Tidings-Spam-Flag: YES` and are not learned
from their arrival (a user moving one back into Junk later is). The position per
account is stored, so a restart resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tidings.hygiene.spam.facts import analyse
from tidings.hygiene.spam.tokenizer import tokenize
from tidings.mime.headers import find_body_start, parse_headers
from tidings.model.changes import Change, ChangeOp
from tidings.model.errors import NotFound, TidingsError
from tidings.model.ids import AccountId, BlobId, ModSeq
from tidings.model.mail import MailboxRole
from tidings.store.services import BlobStore, SpamDataService

log = logging.getLogger(__name__)

# Where a message going leaves no opinion: deleting is not "this is ham".
_NEUTRAL_ROLES = frozenset({MailboxRole.TRASH.value, MailboxRole.DRAFTS.value,
                            MailboxRole.SENT.value})


@dataclass(frozen=True, slots=True)
class Lesson:
    email_id: int
    is_spam: bool
    moved: bool = True  # False: created without leaving another folder (copy, delivery)


def lessons(changes: Sequence[Change], roles: dict[int, str | None]) -> list[Lesson]:
    """What to learn from a run of email changes (pure; see the module docstring)."""
    by_modseq: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        by_modseq[change.modseq].append(change)
    found: list[Lesson] = []
    for group in by_modseq.values():
        destroyed = {c.object_id: c.collection_id for c in group if c.op is ChangeOp.DESTROYED}
        for change in group:
            if change.op is not ChangeOp.CREATED or change.collection_id is None:
                continue
            target = roles.get(change.collection_id)
            source_box = destroyed.get(change.object_id)
            source = roles.get(source_box) if source_box is not None else None
            if target == MailboxRole.JUNK.value and source != MailboxRole.JUNK.value:
                found.append(Lesson(change.object_id, True, source_box is not None))
            elif (source == MailboxRole.JUNK.value and target != MailboxRole.JUNK.value
                  and target not in _NEUTRAL_ROLES):
                found.append(Lesson(change.object_id, False))
    return found


def filed_by_us(raw: bytes) -> bool:
    """The spam stage itself judged it spam (forged copies of the field are stripped)."""
    headers = parse_headers(raw, 0, find_body_start(raw)[0])
    return (headers.get("x-tidings-spam-flag") or "").strip().upper() == "YES"


class SpamLearner:
    """`run_once` trains on everything new; `run` repeats it until `stopping` is set."""

    def __init__(self, data: SpamDataService, blobs: BlobStore, *,
                 poll_seconds: float = 5.0, batch: int = 1000) -> None:
        self.data = data
        self.blobs = blobs
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.learned = 0

    async def run(self, stopping: asyncio.Event) -> None:
        log.info("spam.learner_started poll_seconds=%g", self.poll_seconds)
        while not stopping.is_set():
            try:
                await self.run_once()
            except TidingsError as exc:  # the store is busy or down: try again later
                log.warning("spam.learner_failed error=%s", exc)
            except Exception:  # a bug must not end learning for good: log it, go on
                log.exception("spam.learner_crashed")
            try:
                async with asyncio.timeout(self.poll_seconds):
                    await stopping.wait()
            except TimeoutError:
                pass
        log.info("spam.learner_stopped learned=%d", self.learned)

    async def run_once(self) -> int:
        """Read every account's new changes; returns how many messages were learned."""
        count = 0
        for position in await self.data.learner_positions():
            count += await self._account(
                position.account_id, position.learned_modseq, position.highest_modseq
            )
        self.learned += count
        return count

    async def _account(self, account: AccountId, since: ModSeq, highest: ModSeq) -> int:
        count = 0
        roles: dict[int, str | None] | None = None
        while True:
            batch = await self.data.email_changes(account, since, self.batch)
            if batch.changes:
                if roles is None:
                    roles = await self.data.mailbox_roles(account)
                count += await self._learn(account, lessons(batch.changes, roles))
            if not batch.has_more:
                break
            since = batch.until
            await self.data.set_learner_position(account, since)
        # Past the last email change: mailbox-only changes need no reading again.
        await self.data.set_learner_position(account, max(highest, batch.until))
        return count

    async def _learn(self, account: AccountId, found: list[Lesson]) -> int:
        if not found:
            return 0
        blobs = await self.data.email_blobs([lesson.email_id for lesson in found])
        count = 0
        for lesson in found:
            blob_id = blobs.get(lesson.email_id)
            if blob_id is None:
                continue  # expunged since: nothing left to learn from
            count += await self._learn_one(account, blob_id, lesson)
        return count

    async def _learn_one(self, account: AccountId, blob_id: BlobId, lesson: Lesson) -> int:
        is_spam = lesson.is_spam
        try:
            raw = await self.blobs.get(blob_id)
        except NotFound:
            return 0
        if is_spam and not lesson.moved and filed_by_us(raw):
            return 0  # our own filing into Junk; a user's move is learned whatever it says
        tokens = sorted(tokenize(await asyncio.to_thread(analyse, raw)))
        changed = await self.data.learn(account, blob_id, tokens, is_spam)
        if changed:
            log.info("spam.learned account=%s class=%s tokens=%d", account,
                     "spam" if is_spam else "ham", len(tokens))
        return 1 if changed else 0
