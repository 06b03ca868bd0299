"""The supervisor of `serve --workers`, with stand-in workers instead of servers: a
worker that cannot start stops everything; one that crashes is started again.

The supervisor forks and blocks signals, so each test runs it in a process of its
own (spawned, not forked from pytest)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from multiprocessing.queues import Queue
from pathlib import Path

from tidings.config import default_settings
from tidings.server_workers import EXIT_STARTUP_FAILED, Supervisor

SECONDS = 15.0
spawn = multiprocessing.get_context("spawn")


class StandInSupervisor(Supervisor):
    """Workers that follow a script instead of serving: worker 1 `fails` as told
    on its first start; otherwise a worker waits for SIGTERM and exits 0."""

    folder = Path()
    first_exit = 0

    def _worker_main(self, index: int, parent: int) -> int:
        starts = self.folder / f"starts-{index}"
        with starts.open("a") as log:
            log.write(f"{os.getpid()}\n")
        if index == 1 and len(starts.read_text().split()) == 1 and self.first_exit:
            return self.first_exit
        signal.sigwait({signal.SIGTERM})  # blocked since the fork, as in real workers
        return 0


def _supervise(folder: str, failure: int, outcome: Queue[str]) -> None:
    StandInSupervisor.folder = Path(folder)
    StandInSupervisor.first_exit = failure
    settings = default_settings(Path(folder))
    settings = settings.with_workers(2)
    try:
        StandInSupervisor(settings, {}).run()
    except Exception as exc:
        outcome.put(f"{type(exc).__name__}: {exc}")
    else:
        outcome.put("stopped")


def _start(tmp_path: Path, failure: int) -> tuple[multiprocessing.process.BaseProcess, Queue[str]]:
    outcome: Queue[str] = spawn.Queue()
    process = spawn.Process(target=_supervise, args=(str(tmp_path), failure, outcome))
    process.start()
    return process, outcome


def _kill_all(supervisor: multiprocessing.process.BaseProcess, folder: Path) -> None:
    """Whatever a failed test left running (stand-ins do not die with their parent)."""
    supervisor.kill()
    supervisor.join(SECONDS)
    for starts in folder.glob("starts-*"):
        for pid in starts.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def _wait_for_starts(tmp_path: Path, index: int, count: int) -> list[int]:
    deadline = time.monotonic() + SECONDS
    path = tmp_path / f"starts-{index}"
    while not path.exists() or len(path.read_text().split()) < count:
        assert time.monotonic() < deadline, f"worker {index} did not start {count} times"
        time.sleep(0.02)
    return [int(pid) for pid in path.read_text().split()]


def test_a_worker_that_cannot_start_stops_the_whole_server(tmp_path: Path) -> None:
    process, outcome = _start(tmp_path, EXIT_STARTUP_FAILED)
    try:
        assert outcome.get(timeout=SECONDS) == (
            "StartupError: worker 1 could not start (see its log lines above)"
        )
        [pid] = _wait_for_starts(tmp_path, 0, 1)
        assert not Path(f"/proc/{pid}").exists()  # worker 0 was stopped and reaped
        assert len(_wait_for_starts(tmp_path, 1, 1)) == 1  # and worker 1 not restarted
    finally:
        _kill_all(process, tmp_path)


def test_a_crashed_worker_is_started_again_and_sigterm_stops_all(tmp_path: Path) -> None:
    process, outcome = _start(tmp_path, 1)
    try:
        first, second = _wait_for_starts(tmp_path, 1, 2)
        assert first != second
        [worker_0] = _wait_for_starts(tmp_path, 0, 1)
        assert process.pid is not None
        os.kill(process.pid, signal.SIGTERM)
        assert outcome.get(timeout=SECONDS) == "stopped"
        for pid in (worker_0, second):
            assert not Path(f"/proc/{pid}").exists()
    finally:
        _kill_all(process, tmp_path)
