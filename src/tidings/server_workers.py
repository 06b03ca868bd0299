"""`tidings serve --workers N`: a supervisor forking N server processes that share
the listening sockets (docs/decisions/0009-workers.md).

Before forking, the supervisor migrates the store and closes it completely (no
thread, connection or event loop may cross a fork), makes the TLS certificate if
missing and binds every listener. Each worker runs `server.run()` on the inherited
sockets; worker 0 alone runs the singleton tasks. The supervisor forwards SIGTERM
and SIGINT (the workers drain), restarts a worker that dies with a growing delay,
and returns once every worker has exited after a stop.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tidings.config import Settings
from tidings.logging_setup import setup_logging
from tidings.metrics_workers import socket_path as metrics_socket_path
from tidings.server_listeners import HTTP_LISTENERS, StartupError
from tidings.store.peers import PeerBus, socket_path
from tidings.worker_slot import Sockets, WorkerSlot, bind_listeners, close_all

log = logging.getLogger(__name__)

# A worker's exit status when it could not start (StartupError): restarting it would
# fail the same way, so the supervisor stops the server instead.
EXIT_STARTUP_FAILED = 3
EXIT_CRASHED = 1
RESTART_MIN_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
STABLE_SECONDS = 10.0  # a worker that lived this long restarts without back-off
KILL_AFTER_DRAIN_SECONDS = 15.0  # past drain_seconds, workers still running get SIGKILL
THREADS_GONE_SECONDS = 5.0
HANDLED_SIGNALS = frozenset({signal.SIGCHLD, signal.SIGTERM, signal.SIGINT})
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_PR_SET_PDEATHSIG = 1


def supervise(settings: Settings) -> None:
    """Run `settings.server.workers` workers until SIGTERM/SIGINT and all have stopped.

    Raises StartupError when the store, the TLS files or a listener cannot be set
    up, or when a worker could not start.
    """
    from tidings.server import SERVED_LISTENERS, load_tls

    # Its lines carry no worker tag; those about a worker name it (worker=N).
    setup_logging(settings.logging.level, settings.logging.format.value)
    _prepare_store(settings)
    load_tls(settings)  # here, so N workers do not race to make a self-signed one
    run_dir = settings.server.run_dir
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:  # fail here, not in every worker, when its socket path is too long
        PeerBus(run_dir, settings.server.workers - 1, settings.server.workers)
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    _remove_peer_sockets(run_dir, settings.server.workers)
    wanted = {n: a for n, a in settings.enabled_listeners().items() if n in SERVED_LISTENERS}
    try:
        sockets = bind_listeners(wanted, single_socket=HTTP_LISTENERS)
    except OSError as exc:
        raise StartupError(str(exc.strerror or exc)) from None
    try:
        _wait_for_threads()
        Supervisor(settings, sockets).run()
    finally:
        close_all(sockets)
        _remove_peer_sockets(run_dir, settings.server.workers)


def _prepare_store(settings: Settings) -> None:
    """Migrate the store in an event loop of its own, and close both."""
    from tidings.store_settings import open_configured_store

    async def migrate() -> None:
        store = await open_configured_store(settings)
        await store.close()

    try:
        asyncio.run(migrate())
    except Exception as exc:
        raise StartupError(f"cannot open the store: {exc}") from None


def _wait_for_threads() -> None:
    """A thread alive at fork() leaves its locks held forever in the child; the
    store's driver threads end shortly after it closes."""
    deadline = time.monotonic() + THREADS_GONE_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.main_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if alive:
        log.warning("workers.threads_before_fork names=%s", ",".join(alive))


def _remove_peer_sockets(run_dir: Path, count: int) -> None:
    """The workers' peer and metrics sockets (a worker killed late leaves its own)."""
    for index in range(count):
        socket_path(run_dir, index).unlink(missing_ok=True)
        metrics_socket_path(run_dir, index).unlink(missing_ok=True)


@dataclass
class _Worker:
    index: int
    pid: int = 0
    started: float = 0.0
    early_deaths: int = 0  # in a row; sets the restart delay
    restart_at: float | None = None


class Supervisor:
    """Forks, watches and stops the workers; its loop waits in sigtimedwait, so it
    runs no Python signal handler and keeps no thread."""

    def __init__(self, settings: Settings, sockets: Sockets) -> None:
        self.settings = settings
        self.sockets = sockets
        self.workers = [_Worker(index) for index in range(settings.server.workers)]
        self.stopping = False
        self.kill_at = 0.0
        self.failure: str | None = None
        self._mask: set[int | signal.Signals] = set()

    def run(self) -> None:
        """Raises StartupError when a worker could not start."""
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        try:
            for worker in self.workers:
                self._spawn(worker)
            log.info(
                "workers.started count=%d pids=%s",
                len(self.workers),
                ",".join(str(w.pid) for w in self.workers),
            )
            while not self.stopping or self._alive():
                self._step()
        finally:
            for worker in self._alive():
                os.kill(worker.pid, signal.SIGKILL)
            signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
        log.info("workers.stopped")
        if self.failure is not None:
            raise StartupError(self.failure)

    def _alive(self) -> list[_Worker]:
        return [w for w in self.workers if w.pid]

    def _step(self) -> None:
        info = signal.sigtimedwait(HANDLED_SIGNALS, self._wait_seconds())
        if info is not None and info.si_signo in STOP_SIGNALS:
            self._stop(signal.Signals(info.si_signo).name)
        self._reap()
        now = time.monotonic()
        if self.stopping:
            if now >= self.kill_at:
                for worker in self._alive():
                    log.warning("worker.killed worker=%d pid=%d", worker.index, worker.pid)
                    os.kill(worker.pid, signal.SIGKILL)
                self.kill_at = now + 1.0
            return
        for worker in self.workers:
            if worker.restart_at is not None and now >= worker.restart_at:
                self._spawn(worker)

    def _wait_seconds(self) -> float:
        now = time.monotonic()
        due = [w.restart_at for w in self.workers if w.restart_at is not None]
        if self.stopping:
            due.append(self.kill_at)
        return max(0.0, min([now + 1.0, *due]) - now)

    def _stop(self, reason: str) -> None:
        """Ask every worker to drain; the sockets close once the last one lets go."""
        if not self.stopping:
            log.info("workers.stopping reason=%s", reason)
            self.stopping = True
            self.kill_at = (
                time.monotonic() + self.settings.limits.drain_seconds + KILL_AFTER_DRAIN_SECONDS
            )
            close_all(self.sockets)
        for worker in self.workers:
            worker.restart_at = None
            if worker.pid:
                os.kill(worker.pid, signal.SIGTERM)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = next((w for w in self.workers if w.pid == pid), None)
            if worker is not None:
                self._exited(worker, os.waitstatus_to_exitcode(status))

    def _exited(self, worker: _Worker, code: int) -> None:
        pid, worker.pid = worker.pid, 0
        how = f"signal={signal.Signals(-code).name}" if code < 0 else f"exit={code}"
        if self.stopping:
            log.info("worker.stopped worker=%d pid=%d %s", worker.index, pid, how)
            return
        if code == EXIT_STARTUP_FAILED:
            log.error("worker.startup_failed worker=%d pid=%d", worker.index, pid)
            self.failure = f"worker {worker.index} could not start (see its log lines above)"
            self._stop("startup_failed")
            return
        now = time.monotonic()
        if now - worker.started >= STABLE_SECONDS:
            worker.early_deaths = 0
        else:
            worker.early_deaths += 1
        delay = min(RESTART_MAX_SECONDS, RESTART_MIN_SECONDS * 2**worker.early_deaths)
        worker.restart_at = now + delay
        log.error(
            "worker.died worker=%d pid=%d %s restart_in=%.1fs",
            worker.index, pid, how, delay,
        )

    def _spawn(self, worker: _Worker) -> None:
        worker.restart_at = None
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = EXIT_CRASHED
            try:
                code = self._worker_main(worker.index, parent)
            except BaseException:
                log.exception("worker.crashed worker=%d", worker.index)
            finally:
                logging.shutdown()
                os._exit(code)
        worker.pid = pid
        worker.started = time.monotonic()
        log.info("worker.started worker=%d pid=%d", worker.index, pid)

    def _worker_main(self, index: int, parent: int) -> int:
        """The child: serve until stopped; returns its exit status."""
        from tidings.server import event_loop_factory, run

        # Stop signals stay blocked until run() has its handlers (it unblocks them).
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask | STOP_SIGNALS)
        _stop_with_parent(parent)
        slot = WorkerSlot(
            index=index,
            count=len(self.workers),
            sockets=self.sockets,
            run_dir=self.settings.server.run_dir,
        )
        try:
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                runner.run(run(self.settings, worker=slot))
        except StartupError as exc:
            log.error("server.startup_failed error=%s", exc)
            return EXIT_STARTUP_FAILED
        return 0


def _stop_with_parent(parent: int) -> None:
    """Linux: get SIGTERM (and drain) if the supervisor dies, rather than serve on
    as an orphan nobody stops."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)
