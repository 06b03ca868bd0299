"""A `tidings serve --workers N` subprocess for the workers' integration tests.

The server is another process: its log is the only event a test can see, so the
helpers here wait on log lines (with a deadline, never a bare sleep).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.integration.test_runtime import tidings_command
from tidings.config import LISTENER_NAMES

SECONDS = 10.0  # the most any awaited event may take on a loaded machine


@dataclass
class ServedWorkers:
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> dict[int, int]:
        """Worker number -> pid of its latest start."""
        found = re.findall(r"worker\.started worker=(\d+) pid=(\d+)", self.text())
        return {int(index): int(pid) for index, pid in found}

    def worker_of(self, host: str, port: int) -> int:
        """The worker that accepted the connection from our `host:port`."""
        pattern = rf"session\.start .*peer={re.escape(host)}:{port} worker=(\d+)"
        found = re.findall(pattern, self.text())
        assert found, f"no session.start for {host}:{port}"
        return int(found[-1])

    @contextlib.contextmanager
    def only(self, worker: int) -> Iterator[None]:
        """Let only `worker` accept: the others are stopped (SIGSTOP) meanwhile, so a
        connection made inside lands on `worker` for certain. Hold it only while
        connecting: a stopped worker may hold the SQLite write lock. Datagrams sent
        to a stopped worker wait in its socket and are read when it goes on."""
        others = [pid for index, pid in self.worker_pids().items() if index != worker]
        for pid in others:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in others:
                os.kill(pid, signal.SIGCONT)

    def wait_ready(self, workers: int = 2) -> None:
        for index in range(workers):
            self.wait_for_log(rf"server\.ready .* worker={index}")

    def kill(self) -> None:
        """SIGKILL to the workers and the supervisor, if it still runs (teardown)."""
        if self.proc.poll() is None:
            for pid in self.worker_pids().values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(SECONDS)

    def wait_for_log(self, pattern: str, count: int = 1) -> None:
        deadline = time.monotonic() + SECONDS
        while len(re.findall(pattern, self.text())) < count:
            assert self.proc.poll() is None, self.text()[-3000:]
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.text()[-3000:]}"
            time.sleep(0.02)


def start_serve(data: Path, ports: Mapping[str, int], workers: int = 2) -> ServedWorkers:
    """`tidings serve --workers N` on 127.0.0.1 with only the listeners in `ports`;
    its output goes to `serve.log` beside the data folder."""
    listen = [f"--listen={n}=127.0.0.1:{ports[n]}" if n in ports else f"--listen={n}="
              for n in LISTENER_NAMES]
    log = data.parent / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*tidings_command(), "serve", "--data", str(data), "--workers", str(workers),
             *listen],
            stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return ServedWorkers(proc, log)
