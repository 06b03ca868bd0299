"""The outbound scheduler: takes due messages from the persistent queue, groups them
by destination, delivers over one reused connection per destination, records each
recipient's attempt only after the remote answered (so a crash means a retry, never
a loss: at-least-once), and sends bounces and delay notices (RFC 3464)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tidings.delivery.outbound.backoff import RetrySchedule
from tidings.delivery.outbound.client import (
    ClientSettings,
    OutboundClient,
    OutboundEnvelope,
    OutboundRecipient,
)
from tidings.delivery.outbound.decisions import decide, delay_reports, due_recipients
from tidings.delivery.outbound.dsn import DSNRequest, RecipientReport, build_dsn
from tidings.delivery.outbound.notices import NoticeSender
from tidings.delivery.outbound.resolver import MXResolver, Route, RouteError, group_by_domain
from tidings.delivery.outbound.results import AttemptResult, Outcome, permanent
from tidings.delivery.outbound.stages import OutboundMessage, OutboundStage, run_stages
from tidings.model.errors import InvalidInput, NotFound, PermissionDenied, QuotaExceeded
from tidings.model.ids import QueueId
from tidings.model.queue import QueuedMessage, QueueRecipient, RecipientState
from tidings.store.services import BlobStore, QueueService

log = logging.getLogger(__name__)

SMARTHOST = "smarthost"  # the destination key when everything goes through the relay
HOLD_AFTER_ERROR = timedelta(minutes=1)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboundSettings:
    hostname: str
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    mx_client: ClientSettings | None = None  # None: defaults with `hostname`
    smarthost: tuple[str, int] | None = None
    smarthost_client: ClientSettings | None = None
    max_concurrent: int = 20
    poll_interval: float = 5.0
    batch: int = 100
    # How long a claimed message stays this node's; longer than one delivery takes.
    lease_seconds: float = 600.0


@dataclass(slots=True)
class RunReport:
    """Counts of one `run_once`, for tests and logs."""

    attempted: int = 0
    delivered: int = 0
    deferred: int = 0
    failed: int = 0
    bounces: int = 0
    delay_notices: int = 0
    connections: int = 0


@dataclass(slots=True)
class _MessageProgress:
    message: QueuedMessage
    original: bytes
    remaining: int  # destination jobs not finished yet
    deferred: list[tuple[QueueRecipient, AttemptResult]] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    """One message's due recipients at one destination."""

    progress: _MessageProgress
    content: bytes | None  # None: the blob is gone
    recipients: list[QueueRecipient]
    finished: bool = False
    recording: bool = False  # attempts are being recorded: the lease is being replaced


class OutboundScheduler:
    """Delivers the queue. `run(stop)` in the server; `run_once()` in tests."""

    def __init__(
        self,
        *,
        queue: QueueService,
        blobs: BlobStore,
        notices: NoticeSender,
        resolver: MXResolver,
        settings: OutboundSettings,
        clock: Clock = utc_now,
        stages: Sequence[OutboundStage] = (),
    ) -> None:
        self.queue = queue
        self.blobs = blobs
        self.notices = notices
        self.resolver = resolver
        self.settings = settings
        self.clock = clock
        self.stages = list(stages)  # DKIM signing plugs in here
        self._busy: set[QueueId] = set()
        self._held: dict[QueueId, datetime] = {}  # message -> not before (after an error)
        self._semaphore = asyncio.Semaphore(settings.max_concurrent)
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Look at the queue now instead of at the next poll (e.g. after an enqueue)."""
        self._wakeup.set()

    async def run_once(self) -> RunReport:
        """Deliver everything due now and wait for it to finish."""
        report = RunReport()
        tasks = await self._dispatch(report)
        await asyncio.gather(*tasks)
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; deliveries still running then are cancelled
        (nothing was recorded for them, so they are retried after the restart)."""
        log.info("outbound.started poll_seconds=%g", self.settings.poll_interval)
        tasks: set[asyncio.Task[None]] = set()
        try:
            await self.queue.purge_finished()  # left behind by a crash before the delete
        except Exception:
            log.exception("outbound.purge_failed")
        try:
            while not stop.is_set():
                try:
                    started = await self._dispatch(RunReport())
                except Exception:
                    log.exception("outbound.dispatch_failed")
                    started = []
                for task in started:
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    task.add_done_callback(_log_failure)
                await self._pause(stop)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info("outbound.stopped cancelled=%d", len(tasks))

    async def _pause(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wakeup.wait())]
        try:
            await asyncio.wait(
                waiters, timeout=self.settings.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._wakeup.clear()

    # --- dispatch -----------------------------------------------------------------
    async def _dispatch(self, report: RunReport) -> list[asyncio.Task[None]]:
        """Start one task per destination for the due messages not already in flight."""
        now = self.clock()
        # In flight here, or held after an error: not ours to lease again yet.
        skip = self._busy | {m for m, until in self._held.items() if until > now}
        due = await self.queue.claim(
            now, self.settings.lease_seconds, self.settings.batch, exclude=skip
        )
        by_destination: dict[str, list[_Job]] = {}
        for message in due:
            if message.id in self._busy or self._held.get(message.id, now) > now:
                continue
            self._held.pop(message.id, None)
            groups = self._split(message, now)
            if not groups:
                continue
            content, original = await self._content(message)
            progress = _MessageProgress(message, original, remaining=len(groups))
            self._busy.add(message.id)
            for key, recipients in groups.items():
                by_destination.setdefault(key, []).append(_Job(progress, content, recipients))
        return [
            asyncio.create_task(self._deliver(key, jobs, now, report), name=f"outbound:{key}")
            for key, jobs in by_destination.items()
        ]

    def _split(self, message: QueuedMessage, now: datetime) -> dict[str, list[QueueRecipient]]:
        recipients = due_recipients(message, now)
        if not recipients:
            return {}
        if self.settings.smarthost is not None:
            return {SMARTHOST: recipients}
        by_address = {r.address: r for r in recipients}
        return {
            domain: [by_address[a] for a in addresses]
            for domain, addresses in group_by_domain(list(by_address)).items()
        }

    async def _content(self, message: QueuedMessage) -> tuple[bytes | None, bytes]:
        """(bytes to send after the stages, the queued original); None if the blob is gone."""
        try:
            original = await self.blobs.get(message.blob_id)
        except NotFound:
            log.error("outbound.blob_missing queue_id=%d blob=%s", message.id, message.blob_id)
            return None, b""
        addresses = tuple(r.address for r in message.recipients)
        sent = await run_stages(
            self.stages, OutboundMessage(message.id, message.sender, addresses, original)
        )
        return sent, original

    # --- one destination ----------------------------------------------------------
    async def _deliver(self, key: str, jobs: list[_Job], now: datetime, report: RunReport) -> None:
        try:
            await self._deliver_leased(key, jobs, now, report)
        except asyncio.CancelledError:
            await self._release_unfinished(jobs)
            raise

    async def _release_unfinished(self, jobs: list[_Job]) -> None:
        """A stop cut these jobs off: hand their lease back, so the next start (here or
        on another node) sends them at once instead of when the lease runs out."""
        for job in jobs:
            if job.finished or job.recording:
                continue
            addresses = [r.address for r in job.recipients]
            try:
                await self.queue.release(job.progress.message.id, addresses, self.clock())
            except Exception:
                log.exception("outbound.release_failed queue_id=%d", job.progress.message.id)

    async def _deliver_leased(
        self, key: str, jobs: list[_Job], now: datetime, report: RunReport
    ) -> None:
        async with self._semaphore:
            client: OutboundClient | None = None
            try:
                route, route_error = await self._route(key)
                if route is not None:
                    client = OutboundClient(route, self._client_settings(route))
                for job in jobs:
                    results = await self._attempt(client, route_error, job)
                    await self._finish_job(job, results, now, report)
            except BaseException as exc:
                if client is not None:
                    client.abort()
                if not isinstance(exc, asyncio.CancelledError):
                    self._hold_unfinished(jobs)
                raise
            else:
                if client is not None:
                    await client.close()
            finally:
                if client is not None:
                    report.connections += client.connections
                for job in jobs:
                    if not job.finished:  # cancelled or failed: let a later run retry
                        self._busy.discard(job.progress.message.id)

    def _hold_unfinished(self, jobs: list[_Job]) -> None:
        """After an unexpected error, wait before trying these messages again, so a
        persistent fault (e.g. the store refusing writes) cannot resend in a tight loop."""
        until = self.clock() + HOLD_AFTER_ERROR
        for job in jobs:
            if not job.finished:
                self._held[job.progress.message.id] = until

    async def _route(self, key: str) -> tuple[Route | None, RouteError | None]:
        try:
            if key == SMARTHOST:
                assert self.settings.smarthost is not None
                return await self.resolver.smarthost(*self.settings.smarthost), None
            return await self.resolver.route(key), None
        except RouteError as exc:
            log.info("outbound.no_route destination=%s permanent=%s error=%s",
                     key, exc.permanent, exc.text)
            return None, exc

    def _client_settings(self, route: Route) -> ClientSettings:
        if route.via_smarthost and self.settings.smarthost_client is not None:
            return self.settings.smarthost_client
        return self.settings.mx_client or ClientSettings(hostname=self.settings.hostname)

    async def _attempt(
        self, client: OutboundClient | None, route_error: RouteError | None, job: _Job
    ) -> list[AttemptResult]:
        message = job.progress.message
        if job.content is None:
            return [permanent(r.address, "the queued message content is missing", "5.3.0", 554)
                    for r in job.recipients]
        if client is None:
            assert route_error is not None
            outcome = Outcome.PERMANENT if route_error.permanent else Outcome.TEMPORARY
            return [
                AttemptResult(r.address, outcome, route_error.code, route_error.enhanced,
                              route_error.text)
                for r in job.recipients
            ]
        envelope = OutboundEnvelope(
            sender=message.sender,
            recipients=tuple(OutboundRecipient(r.address, r.notify, r.orcpt)
                             for r in job.recipients),
            content=job.content,
            ret=message.dsn_ret,
            envid=message.dsn_envid,
        )
        return await client.deliver(envelope)

    # --- recording ----------------------------------------------------------------
    async def _finish_job(
        self, job: _Job, results: list[AttemptResult], now: datetime, report: RunReport
    ) -> None:
        """Bounce first, then record: a crash in between repeats a bounce, never loses one."""
        progress = job.progress
        message = progress.message
        schedule = self.settings.schedule
        decisions = [
            decide(message, recipient, result, schedule, now)
            for recipient, result in zip(job.recipients, results, strict=True)
        ]
        bounces = [d.bounce for d in decisions if d.bounce is not None]
        job.recording = True
        if bounces:
            await self._send_report(message, bounces, progress.original, now)
            report.bounces += 1
        for recipient, result, decision in zip(job.recipients, results, decisions, strict=True):
            await self.queue.record_attempt(
                message.id,
                decision.address,
                delivered=decision.outcome is Outcome.DELIVERED,
                permanent=decision.outcome is Outcome.PERMANENT,
                error=decision.error,
                next_attempt_at=decision.next_attempt_at,
            )
            report.attempted += 1
            if decision.outcome is Outcome.TEMPORARY:
                progress.deferred.append((recipient, result))
                report.deferred += 1
            elif decision.outcome is Outcome.DELIVERED:
                report.delivered += 1
            else:
                report.failed += 1
            log.info(
                "outbound.attempt queue_id=%d outcome=%s remote=%s reply=%s",
                message.id, decision.outcome.value, result.remote_mta or "-", result.diagnostic,
            )
        job.finished = True
        progress.remaining -= 1
        if progress.remaining == 0:
            await self._finish_message(progress, now, report)

    async def _finish_message(
        self, progress: _MessageProgress, now: datetime, report: RunReport
    ) -> None:
        """Once per message and run: the delay notice, and removal when nothing is pending."""
        message = progress.message
        self._busy.discard(message.id)
        reports = delay_reports(message, progress.deferred, self.settings.schedule, now)
        if reports:
            await self._send_report(message, reports, progress.original, now)
            await self.queue.mark_delay_notified(message.id)
            report.delay_notices += 1
        with contextlib.suppress(NotFound):
            current = await self.queue.get(message.id)
            if all(r.state is not RecipientState.PENDING for r in current.recipients):
                await self.queue.delete(message.id)
                log.info("outbound.done queue_id=%d", message.id)

    async def _send_report(
        self,
        message: QueuedMessage,
        reports: list[RecipientReport],
        original: bytes,
        now: datetime,
    ) -> None:
        hostname = self.settings.hostname
        raw = build_dsn(
            DSNRequest(
                reporting_mta=hostname,
                sender=message.sender,
                recipients=tuple(reports),
                original=original,
                arrival_date=message.created_at,
                now=now,
                message_id=f"<dsn.{message.id}.{secrets.token_hex(8)}@{hostname}>",
                envid=message.dsn_envid,
                ret=message.dsn_ret,
            )
        )
        try:
            where = await self.notices.send(message.sender, raw)
        except (QuotaExceeded, PermissionDenied, NotFound, InvalidInput) as exc:
            # Retrying the delivery would not help the report; drop it, loudly.
            log.warning("outbound.report_undeliverable queue_id=%d error=%s: %s",
                        message.id, type(exc).__name__, exc)
            return
        log.info("outbound.report queue_id=%d action=%s recipients=%d to=%s",
                 message.id, reports[0].action.value, len(reports), where)


def _log_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("outbound.destination_failed task=%s error=%r", task.get_name(), exc,
                  exc_info=exc)
