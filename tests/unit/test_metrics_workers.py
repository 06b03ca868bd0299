"""Merging the workers' /metrics expositions (metrics_workers.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Info, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tidings.metrics_workers import WorkerMetrics, merge_expositions


def worker_registry(accepted: int, active: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    Info("tidings_build", "Version", registry=registry).info({"version": "1.0"})
    Counter("tidings_connections_accepted", "Accepted", ["listener"],
            registry=registry).labels("smtp").inc(accepted)
    Gauge("tidings_connections_active", "Open", ["listener"],
          registry=registry).labels("smtp").set(active)
    Counter("tidings_session_errors", "Errors", ["listener"], registry=registry)  # no samples
    return registry


def test_two_workers_merge_into_one_valid_exposition() -> None:
    texts = {
        0: generate_latest(worker_registry(accepted=3, active=1)).decode(),
        1: generate_latest(worker_registry(accepted=5, active=2)).decode(),
    }
    merged = merge_expositions(texts).decode()

    for name in ("tidings_connections_accepted_total", "tidings_connections_active",
                 "tidings_build_info", "tidings_session_errors_total"):
        assert merged.count(f"# TYPE {name} ") == 1, merged
        assert merged.count(f"# HELP {name} ") == 1, merged
    families = {f.name: f for f in text_string_to_metric_families(merged)}
    accepted = {
        s.labels["worker"]: s.value
        for s in families["tidings_connections_accepted"].samples
        if s.name.endswith("_total")
    }
    assert accepted == {"0": 3.0, "1": 5.0}
    active = {(s.labels["worker"], s.labels["listener"]): s.value
              for s in families["tidings_connections_active"].samples}
    assert active == {("0", "smtp"): 1.0, ("1", "smtp"): 2.0}
    assert families["tidings_connections_accepted"].type == "counter"
    assert {s.labels["worker"] for s in families["tidings_build_info"].samples} == {"0", "1"}
    assert families["tidings_session_errors"].samples == []
    missing = families["tidings_metrics_workers_missing"].samples
    assert [(s.labels, s.value) for s in missing] == [({}, 0.0)]


def test_an_unreadable_worker_text_counts_as_missing() -> None:
    texts = {0: generate_latest(worker_registry(1, 0)).decode(), 1: "not {valid"}
    families = {f.name: f for f in text_string_to_metric_families(
        merge_expositions(texts, missing=1).decode())}
    assert families["tidings_metrics_workers_missing"].samples[0].value == 2.0
    workers = {s.labels["worker"] for s in families["tidings_connections_accepted"].samples}
    assert workers == {"0"}


async def test_a_scrape_reads_the_peers_socket_and_leaves_out_the_absent(tmp_path: Path) -> None:
    first = WorkerMetrics(tmp_path, 0, 3, worker_registry(accepted=2, active=0))
    second = WorkerMetrics(tmp_path, 1, 3, worker_registry(accepted=7, active=0))
    await second.start()
    try:
        families = {f.name: f for f in text_string_to_metric_families(
            (await first.scrape()).decode())}
    finally:
        await second.close()
    accepted = {s.labels["worker"]: s.value
                for s in families["tidings_connections_accepted"].samples
                if s.name.endswith("_total")}
    assert accepted == {"0": 2.0, "1": 7.0}
    assert families["tidings_metrics_workers_missing"].samples[0].value == 1.0  # worker 2
    assert not (tmp_path / "metrics-1.sock").exists()


async def test_a_stalled_peer_is_left_out_after_the_timeout(tmp_path: Path) -> None:
    accepted = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # never answers; the scraper hangs up

    server = await asyncio.start_unix_server(stall, path=str(tmp_path / "metrics-1.sock"))
    try:
        first = WorkerMetrics(tmp_path, 0, 2, worker_registry(accepted=1, active=0))
        async with asyncio.timeout(5):
            body = (await first.scrape()).decode()
    finally:
        server.close()
    assert accepted.is_set()
    assert "tidings_metrics_workers_missing 1.0" in body
