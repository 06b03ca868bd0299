"""Acknowledged deliveries per second into one mailbox (durability full).

Each delivery is what SMTP does before its 250: `blobs.put` then `mail.deliver`,
both returning only after a durable commit. Runs 1, 20 and 100 concurrent writers
on SQLite and PostgreSQL, with and without group commit, and prints the median of
three runs per cell.

    .venv/bin/python bench/store.py [--quick] [--record] [--pg URL] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import os
import platform
import socket
import sqlite3
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore, open_store
from tidings.store.services import ParsedHeaders

WRITERS = (1, 20, 100)
RESULTS = Path(__file__).with_name("RESULTS.md")
PG_DEFAULT = os.environ.get("TIDINGS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# A typical small message: headers plus a couple of KiB of text (stored inline).
BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40).encode()


@dataclass(frozen=True)
class Cell:
    backend: str
    group_commit: bool
    writers: int
    rates: tuple[float, ...]
    commits_per_delivery: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


MAX_WAIT_MS = 2.0


async def _open(
    backend: str, pg_url: str, work: Path, group_commit: bool, max_wait_ms: float
) -> tuple[SQLStore, str]:
    options = {"group_commit": group_commit, "max_wait_ms": max_wait_ms, "durability": "full"}
    if backend == "sqlite":
        url = f"sqlite:///{work / 'bench.db'}"
        return await open_store(url, work / "blobs", **options), ""  # type: ignore[arg-type]
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    url = f"{pg_url}?schema={schema}"
    return await open_store(url, work / "blobs", **options), schema  # type: ignore[arg-type]


async def _drop(pg_url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _message(serial: int) -> tuple[bytes, ParsedHeaders]:
    subject = f"bench message {serial}"
    raw = (
        f"Message-ID: <{serial}.{uuid.uuid4().hex}@bench.example>\r\n"
        f"From: sender@bench.example\r\nTo: rcpt@bench.example\r\nSubject: {subject}\r\n\r\n"
    ).encode() + BODY
    headers = ParsedHeaders(
        date=None,
        subject=subject,
        from_="sender@bench.example",
        sender="",
        reply_to="",
        to="rcpt@bench.example",
        cc="",
        bcc="",
        message_id=f"<{serial}@bench.example>",
        in_reply_to="",
        references="",
        text=BODY.decode(),
    )
    return raw, headers


async def _measure(
    store: SQLStore, account: AccountId, writers: int, seconds: float
) -> tuple[float, float]:
    """(deliveries acknowledged per second, commits per delivery) while `writers`
    tasks deliver for `seconds`."""
    counter = itertools.count()
    done = 0
    stop_at = time.monotonic() + seconds

    async def writer() -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            raw, headers = _message(next(counter))
            blob = await store.blobs.put(raw)
            await store.mail.deliver([(account, MailboxRole.INBOX)], blob, headers)
            done += 1

    started, commits = time.monotonic(), store.db.commits
    await asyncio.gather(*(writer() for _ in range(writers)))
    return done / (time.monotonic() - started), (store.db.commits - commits) / max(done, 1)


async def _run_cell(
    backend: str,
    pg_url: str,
    group_commit: bool,
    writers: int,
    seconds: float,
    runs: int,
    max_wait_ms: float = MAX_WAIT_MS,
) -> Cell:
    rates: list[float] = []
    commits: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp:
            store, schema = await _open(backend, pg_url, Path(tmp), group_commit, max_wait_ms)
            try:
                await store.directory.create_domain("bench.example")
                user = await store.directory.create_principal(
                    PrincipalKind.USER, "rcpt@bench.example"
                )
                rate, per_delivery = await _measure(store, AccountId(user.id), writers, seconds)
                rates.append(rate)
                commits.append(per_delivery)
            finally:
                await store.close()
                if schema:
                    await _drop(pg_url, schema)
    return Cell(backend, group_commit, writers, tuple(rates), statistics.median(commits))


def _pg_reachable(url: str) -> bool:
    host_port = url.split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 5432)), timeout=1):
            return True
    except OSError:
        return False


def fsync_ms() -> float:
    """Median latency of write+fsync of a small file here: what one durable commit costs."""
    samples: list[float] = []
    with tempfile.NamedTemporaryFile(prefix="tidings-fsync-") as handle:
        for _ in range(50):
            started = time.perf_counter()
            handle.write(b"x" * 512)
            handle.flush()
            os.fsync(handle.fileno())
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"fsync {fsync_ms():.2f} ms, load average {os.getloadavg()[0]:.1f}"
    )


def table(cells: list[Cell]) -> str:
    lines = [
        "| backend | group commit | writers | deliveries/s (median) | runs | commits/delivery |",
        "|---|---|---:|---:|---|---:|",
    ]
    for c in cells:
        runs = ", ".join(f"{r:.0f}" for r in c.rates)
        gc = "on" if c.group_commit else "off"
        lines.append(
            f"| {c.backend} | {gc} | {c.writers} | {c.median:.0f} | {runs} "
            f"| {c.commits_per_delivery:.2f} |"
        )
    return "\n".join(lines)


def record(cells: list[Cell], seconds: float, runs: int, note: str, path: Path = RESULTS) -> None:
    section = (
        f"\n## Store: acknowledged deliveries per second ({machine()})\n\n"
        f"`bench/store.py`: one mailbox, durability full, blob put + deliver per message, "
        f"{seconds:g} s per run, median of {runs} runs.{note}\n\n{table(cells)}\n"
    )
    existing = path.read_text() if path.exists() else "# Benchmark results\n"
    path.write_text(existing.rstrip("\n") + "\n" + section)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, one run per cell")
    parser.add_argument("--record", action="store_true", help="append the table to --results")
    parser.add_argument("--results", type=Path, default=RESULTS, help="default: %(default)s")
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per run")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], action="append")
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=MAX_WAIT_MS,
        help="group commit: longest wait for company (default: %(default)s)",
    )
    args = parser.parse_args()
    seconds = args.seconds or (0.5 if args.quick else 3.0)
    runs = 1 if args.quick else 3
    backends = args.backend or ["sqlite", "postgres"]
    note = ""
    if "postgres" in backends and not _pg_reachable(args.pg):
        backends.remove("postgres")
        note = f" PostgreSQL was not reachable at {args.pg}; its rows are missing."
        print(note.strip())
    cells: list[Cell] = []
    for backend in backends:
        for group_commit in (True, False):
            for writers in WRITERS:
                cell = await _run_cell(
                    backend, args.pg, group_commit, writers, seconds, runs, args.max_wait_ms
                )
                print(
                    f"{backend:8} group_commit={group_commit!s:5} writers={writers:3} "
                    f"{cell.median:8.0f}/s",
                    flush=True,
                )
                cells.append(cell)
    print()
    print(machine())
    print(table(cells))
    if args.record:
        record(cells, seconds, runs, note, args.results)
        print(f"\nappended to {args.results}")


if __name__ == "__main__":
    asyncio.run(main())
