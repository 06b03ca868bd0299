"""/metrics under `tidings serve --workers 2`: whichever worker answers the scrape,
it shows every worker's metrics, each sample labelled `worker="N"`
(docs/decisions/0009-workers.md §7)."""

from __future__ import annotations

import re
import signal
import smtplib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_runtime import free_ports, run_cli
from tests.integration.workers_env import SECONDS, ServedWorkers, start_serve

pytestmark = pytest.mark.slow

SCRAPES = 8


@dataclass
class Server(ServedWorkers):
    smtp: int
    http: int
    data: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("workers-metrics") / "data"
    done = run_cli("init", "--data", str(data), "--domain", "metrics.test")
    assert done.returncode == 0, done.stderr
    smtp, http = free_ports(2)
    ports = {"smtp": smtp, "http": http}
    served = start_serve(data, ports)
    handle = Server(served.proc, served.log, smtp, http, data)
    try:
        handle.wait_ready()
        yield handle
    finally:
        handle.kill()


def connect_once(server: Server) -> None:
    """One SMTP connection: counted by whichever worker accepts it, before the greeting."""
    with smtplib.SMTP("127.0.0.1", server.smtp, timeout=SECONDS) as smtp:
        smtp.noop()


def scrape(server: Server) -> tuple[dict[str, float], float]:
    """Accepted SMTP connections by worker label, and the missing-workers gauge."""
    response = httpx.get(f"http://127.0.0.1:{server.http}/metrics", timeout=SECONDS)
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    accepted = {
        s.labels["worker"]: s.value
        for s in families["tidings_connections_accepted"].samples
        if s.name == "tidings_connections_accepted_total" and s.labels["listener"] == "smtp"
    }
    missing = families["tidings_metrics_workers_missing"].samples[0].value
    for family in families.values():  # every sample says whose it is, but the gauge
        for sample in family.samples:
            assert "worker" in sample.labels or family.name.startswith("tidings_metrics_")
    return accepted, missing


def test_every_scrape_shows_every_workers_counters(server: Server) -> None:
    made = 0
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):  # the kernel decides who accepts: go on until both have some
            list(pool.map(lambda _: connect_once(server), range(16)))
            made += 16
            accepted, _ = scrape(server)
            if len(accepted) == 2 and min(accepted.values()) > 0:
                break
        else:
            pytest.fail(f"one worker accepted every connection: {accepted}")
    # HTTP connections of the scrapes are uvicorn's, not counted here; each scrape
    # lands on either worker and must show both.
    for _ in range(SCRAPES):
        accepted, missing = scrape(server)
        assert missing == 0
        assert set(accepted) == {"0", "1"}
        assert sum(accepted.values()) == made


def test_one_help_and_type_line_per_family(server: Server) -> None:
    text = httpx.get(f"http://127.0.0.1:{server.http}/metrics", timeout=SECONDS).text
    types = re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE)
    helps = re.findall(r"^# HELP (\S+) ", text, flags=re.MULTILINE)
    assert len(types) == len(set(types)) and sorted(types) == sorted(helps)
    assert re.search(r'^process_cpu_seconds_total\{worker="0"\} ', text, flags=re.MULTILINE)
    assert re.search(r'^process_cpu_seconds_total\{worker="1"\} ', text, flags=re.MULTILINE)


def test_sigterm_removes_the_metrics_sockets(server: Server) -> None:
    run_dir = server.data / "run"
    assert sorted(p.name for p in run_dir.glob("metrics-*.sock")) == [
        "metrics-0.sock", "metrics-1.sock"
    ]
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(SECONDS + 15) == 0
    assert "Traceback" not in server.text()
    assert not list(run_dir.glob("metrics-*.sock"))
