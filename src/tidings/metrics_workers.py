"""/metrics over every worker of `serve --workers N` (docs/decisions/0009-workers.md §7).

The workers share the HTTP listener, so a scrape reaches one of them at random. Each
worker therefore also serves its own exposition on a UNIX stream socket
`metrics-<n>.sock` in the run folder (connect, read to EOF: no request). The worker
that answers /metrics reads the others' concurrently, labels every sample with
`worker="<n>"` and merges the families, so one scrape shows the whole server and each
worker's counters stay a series of their own (a restarted worker's reset is then an
ordinary counter reset to Prometheus, not a drop in a sum).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

log = logging.getLogger(__name__)

# A scrape must not hang on a stalled worker; Prometheus' default timeout is 10 s.
PEER_TIMEOUT_SECONDS = 1.0
WORKER_LABEL = "worker"
MISSING_NAME = "tidings_metrics_workers_missing"

Scrape = Callable[[], Awaitable[bytes]]  # the /metrics body


def socket_path(run_dir: Path, index: int) -> Path:
    return run_dir / f"metrics-{index}.sock"


def merge_expositions(texts: Mapping[int, str], *, missing: int = 0) -> bytes:
    """One text exposition from each worker's (worker index -> text): every sample
    gains `worker="<index>"`, families are merged by name (one HELP/TYPE each), and
    `tidings_metrics_workers_missing` says how many workers did not answer."""
    families: dict[str, Metric] = {}
    for index, text in sorted(texts.items()):
        try:
            parsed = list(text_string_to_metric_families(text))
        except ValueError as exc:  # a worker's text we cannot read counts as missing
            log.warning("metrics.peer_unparsable worker=%d error=%s", index, exc)
            missing += 1
            continue
        label = str(index)
        for family in parsed:
            merged = families.get(family.name)
            if merged is None:
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                families[family.name] = merged
            merged.samples.extend(
                Sample(s.name, {**s.labels, WORKER_LABEL: label}, s.value, s.timestamp,
                       s.exemplar)
                for s in family.samples
            )
    gauge = Metric(MISSING_NAME, "Workers that did not answer this scrape in time", "gauge")
    gauge.add_sample(MISSING_NAME, {}, float(missing))
    families[MISSING_NAME] = gauge
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(families.values())))
    return generate_latest(registry)


class _Fixed(Collector):
    """Collector returning families already collected."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class WorkerMetrics:
    """This worker's metrics socket and the /metrics body over every worker."""

    def __init__(self, run_dir: Path, index: int, count: int, registry: CollectorRegistry) -> None:
        self.index = index
        self.registry = registry
        self.path = socket_path(run_dir, index)
        self.peers = {i: socket_path(run_dir, i) for i in range(count) if i != index}
        self._server: asyncio.Server | None = None
        self._inode: int | None = None  # of our socket file, to know it is still ours

    async def start(self) -> None:
        """Serve our exposition on `metrics-<index>.sock`, replacing a predecessor's
        (a killed worker leaves its socket file). Raises OSError."""
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._answer, path=str(self.path))
        self._inode = _inode(self.path)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        # Python 3.11's server leaves the file; remove it unless a successor has
        # already bound its own there.
        if self._inode is not None and _inode(self.path) == self._inode:
            self.path.unlink(missing_ok=True)
        self._server = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(generate_latest(self.registry))
            await writer.drain()
        except OSError as exc:  # the scraping worker gave up (timeout) or went away
            log.debug("metrics.peer_write_failed error=%s", exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def scrape(self) -> bytes:
        """Every worker's metrics, labelled by worker; a peer that does not answer
        within PEER_TIMEOUT_SECONDS is left out and counted as missing."""
        results = await asyncio.gather(*(_fetch(path) for path in self.peers.values()))
        texts = {i: text for i, text in zip(self.peers, results, strict=True) if text is not None}
        texts[self.index] = generate_latest(self.registry).decode("utf-8")
        return merge_expositions(texts, missing=len(self.peers) + 1 - len(texts))


async def _fetch(path: Path) -> str | None:
    """A peer's exposition, or None when it is not there (restarting) or too slow."""
    try:
        async with asyncio.timeout(PEER_TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_unix_connection(str(path))
            try:
                body = await reader.read()
            finally:
                writer.close()
        return body.decode("utf-8")
    except (OSError, TimeoutError, UnicodeDecodeError) as exc:
        log.warning("metrics.peer_missing socket=%s error=%s", path.name, type(exc).__name__)
        return None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


__all__ = ["PEER_TIMEOUT_SECONDS", "Scrape", "WorkerMetrics", "merge_expositions", "socket_path"]
