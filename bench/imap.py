"""Tidings IMAP against Dovecot, same machine, same run, same mailbox.

Both servers hold the same 10,000 generated messages in INBOX (and the first 100 in
"Small"); the same argon2id password hash (t=3, m=64 MiB, p=4) and the same 60 s
verified-credential cache. Measured, median of --runs runs each:

  (a) login + SELECT Small + FETCH 1:* (FLAGS) + LOGOUT cycles/s, 20 concurrent clients
  (b) UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE) on INBOX (seconds)
  (c) SEARCH TEXT <word> on INBOX (seconds; Dovecot without an FTS plugin reads
      every message, Tidings asks its full-text index)
  (d) memory per connection with 1,000 connections in IDLE on INBOX

    .venv/bin/python bench/imap.py [--quick] [--record] [--runs N] [--seconds S]

Tidings runs as `tidings serve` in a subprocess; the load is generated here, with
a lean asyncio IMAP client, so both servers see the same client cost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from imap_servers import (  # type: ignore[import-not-found]
    FAST_USER,
    PASSWORD,
    USER,
    DovecotServer,
    TidingsServer,
    process_memory_kib,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
Server = TidingsServer | DovecotServer
SEARCH_WORD = "zanzibar"
SMALL = 100
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


# --- the messages -------------------------------------------------------------------
def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "ga", "vu", "shi",
                 "mor", "len", "tar", "bis", "quo", "fen"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
            for _ in range(size)]


def generate(count: int, seed: int = 4) -> list[bytes]:
    """`count` plain-text messages of 1-4 KiB; one in 50 mentions SEARCH_WORD."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    out = []
    for serial in range(count):
        subject = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))
        body_words = [rng.choice(words) for _ in range(rng.randint(150, 600))]
        if serial % 50 == 7:
            body_words[rng.randrange(len(body_words))] = SEARCH_WORD
        lines = [" ".join(body_words[i:i + 12]) for i in range(0, len(body_words), 12)]
        sender = rng.randint(1, 300)
        date = datetime.datetime.fromtimestamp(1_700_000_000 + serial * 600, datetime.UTC)
        head = (f"From: Sender {sender} <sender{sender}@example.org>\r\n"
                f"To: Bench <{USER}>\r\n"
                f"Cc: list{serial % 7}@lists.example.net\r\n"
                f"Subject: {subject}\r\n"
                f"Date: {date:%a, %d %b %Y %H:%M:%S +0000}\r\n"
                f"Message-ID: <{serial}.{seed}@bench.example.org>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
        out.append((head + "\r\n".join(lines) + "\r\n").encode())
    return out


# --- a lean IMAP client -----------------------------------------------------------------
class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.serial = reader, writer, 0

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        client = cls(reader, writer)
        await reader.readline()  # greeting
        return client

    async def command(self, text: str) -> tuple[int, bytes]:
        """Run one command: (number of untagged responses, tagged line). Raises on NO/BAD."""
        self.serial += 1
        tag = f"c{self.serial}".encode()
        self.writer.write(tag + b" " + text.encode() + b"\r\n")
        untagged = 0
        while True:
            line = await self._response()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text!r} failed: {line[:200]!r}")
                return untagged, line
            untagged += line.startswith(b"*")

    async def _response(self) -> bytes:
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        while (found := _LITERAL.search(line)) is not None:
            line += await self.reader.readexactly(int(found.group(1)))
            line += await self.reader.readline()
        return line

    async def login(self, user: str = USER) -> None:
        await self.command(f'LOGIN "{user}" "{PASSWORD}"')

    async def start_idle(self) -> None:
        self.serial += 1
        self.writer.write(f"c{self.serial} IDLE\r\n".encode())
        while not (await self._response()).startswith(b"+"):
            pass

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


# --- the four measurements --------------------------------------------------------------
async def cycles_per_second(port: int, clients: int, seconds: float, user: str = USER
                            ) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < stop:
            client = await Client.connect(port)
            await client.login(user)
            await client.command("SELECT Small")
            count, _ = await client.command("FETCH 1:* (FLAGS)")
            assert count == SMALL, count
            await client.command("LOGOUT")
            await client.close()
            done += 1

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return done / (time.monotonic() - began)


async def timed_command(port: int, command: str, expect: int | None) -> float:
    client = await Client.connect(port)
    await client.login()
    await client.command("SELECT INBOX")
    began = time.monotonic()
    count, _ = await client.command(command)
    elapsed = time.monotonic() - began
    if expect is not None:
        assert count == expect, (command, count)
    await client.command("LOGOUT")
    await client.close()
    return elapsed


async def idle_memory_kib(port: int, pids: Callable[[], list[int]], connections: int,
                          user: str = USER) -> tuple[float, float, int, int]:
    """(RSS, PSS) KiB per connection with `connections` sessions in IDLE on INBOX, and
    the server's total RSS before and after (KiB). One session selects INBOX first,
    so what is shared by every session (Tidings' snapshot, Dovecot's index) is in
    "before"."""
    async def warm_up() -> None:
        warm = await Client.connect(port)
        await warm.login(user)
        await warm.command("SELECT INBOX")
        await warm.command("LOGOUT")
        await warm.close()

    # Several at once, so that each of Tidings' workers (one per CPU) builds its
    # snapshot before "before", as one session does for a single process.
    await asyncio.gather(*(warm_up() for _ in range(4 * (os.cpu_count() or 1))))
    await asyncio.sleep(1.0)
    before = process_memory_kib(pids())
    opened: list[Client] = []
    gate = asyncio.Semaphore(20)

    async def one() -> None:
        async with gate:
            client = await Client.connect(port)
            await client.login(user)
            await client.command("SELECT INBOX")
            await client.start_idle()
            opened.append(client)

    await asyncio.gather(*(one() for _ in range(connections)))
    await asyncio.sleep(2.0)
    after = process_memory_kib(pids())
    for client in opened:
        await client.close()
    return ((after[0] - before[0]) / connections, (after[1] - before[1]) / connections,
            before[0], after[0])


# --- running and reporting ------------------------------------------------------------
def median_of(runs: int, measure: Callable[[], Awaitable[float]]) -> Callable[[], Awaitable[
        list[float]]]:
    async def go() -> list[float]:
        return [await measure() for _ in range(runs)]
    return go


async def measure_server(name: str, server: Server, args: argparse.Namespace, total: int
                         ) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    port = server.port
    fetch = "UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"
    search = f"SEARCH TEXT {SEARCH_WORD}"
    await timed_command(port, fetch, total)  # warm-up: page cache, Dovecot's index cache
    await timed_command(port, search, 1)
    await cycles_per_second(port, args.clients, 2.0)
    out["a"] = [await cycles_per_second(port, args.clients, args.seconds)
                for _ in range(args.runs)]
    print(f"{name} (a) cycles/s {out['a']}", flush=True)
    if name == "dovecot":
        out["a_plain"] = [await cycles_per_second(port, args.clients, args.seconds, FAST_USER)
                          for _ in range(args.runs)]
        print(f"{name} (a) with a {{PLAIN}} password, cycles/s {out['a_plain']}", flush=True)
    out["b"] = [await timed_command(port, fetch, total) for _ in range(args.runs)]
    print(f"{name} (b) seconds {out['b']}", flush=True)
    out["c"] = [await timed_command(port, search, 1) for _ in range(args.runs)]
    print(f"{name} (c) seconds {out['c']}", flush=True)
    # Login cost does not change memory: Dovecot's idle clients use the {PLAIN} user so
    # that 1,000 argon2 verifications do not dominate the run time.
    idle_user = FAST_USER if name == "dovecot" else USER
    for key in ("d_rss", "d_pss", "d_before", "d_after"):
        out[key] = []
    for _ in range(args.runs):
        # A fresh server per run: freed memory stays in a process (Python's allocator,
        # glibc), so a second run in the same process would look free.
        server.stop()
        server.start()
        rss, pss, before, after = await idle_memory_kib(port, server.pids, args.idle, idle_user)
        for key, value in zip(("d_rss", "d_pss", "d_before", "d_after"),
                              (rss, pss, before, after), strict=True):
            out[key].append(value)
    print(f"{name} (d) KiB/conn rss {out['d_rss']} pss {out['d_pss']} "
          f"total before {out['d_before']} after {out['d_after']}", flush=True)
    return out


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return (f"{datetime.date.today().isoformat()}, nproc {os.cpu_count()} ({cpu}), "
            f"Python {platform.python_version()}, Dovecot {dovecot.stdout.strip()}")


def report(t: dict[str, list[float]], d: dict[str, list[float]], args: argparse.Namespace,
           total: int) -> str:
    med = {k: statistics.median(v) for k, v in t.items()}
    dmed = {k: statistics.median(v) for k, v in d.items()}
    rows = [
        ("(a) login+SELECT+FETCH FLAGS+LOGOUT, cycles/s, 20 clients (higher is better)",
         med["a"], dmed["a"], med["a"] / dmed["a"]),
        (f"(b) UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), {total} msgs, s",
         med["b"], dmed["b"], dmed["b"] / med["b"]),
        (f"(c) SEARCH TEXT over {total} msgs, s", med["c"], dmed["c"], dmed["c"] / med["c"]),
        (f"(d) RSS per IDLE connection, KiB ({args.idle} connections)",
         med["d_rss"], dmed["d_rss"], dmed["d_rss"] / med["d_rss"]),
        ("(d) PSS per IDLE connection, KiB", med["d_pss"], dmed["d_pss"],
         dmed["d_pss"] / med["d_pss"]),
        ("(d) server total RSS with one session, KiB", med["d_before"], dmed["d_before"],
         dmed["d_before"] / med["d_before"]),
    ]
    lines = ["| measure | Tidings | Dovecot | Tidings advantage (x) |", "|---|---|---|---|"]
    for label, ours, theirs, ratio in rows:
        lines.append(f"| {label} | {ours:.3f} | {theirs:.3f} | {ratio:.2f} |")
    lines.append(f"| (a) as above, Dovecot with a {{PLAIN}} password (no hashing) | "
                 f"{med['a']:.3f} | {dmed['a_plain']:.3f} | {med['a'] / dmed['a_plain']:.2f} |")
    raw = "\n".join(f"- {k}: Tidings {t.get(k)}, Dovecot {d[k]}" for k in d)
    return "\n".join(lines) + "\n\nRaw runs:\n" + raw + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 messages, 100 idle")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--only", choices=("tidings", "dovecot"), default=None)
    args = parser.parse_args()
    total = 1000 if args.quick else 10_000
    if args.quick:
        args.idle = min(args.idle, 100)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    messages = generate(total)
    DovecotServer.install()
    with tempfile.TemporaryDirectory(prefix="tidings-imap-bench-") as tmp:
        root = Path(tmp)
        tidings, dovecot = TidingsServer(root), DovecotServer(root)
        began = time.monotonic()
        tidings.setup(messages, SMALL)
        print(f"tidings loaded in {time.monotonic() - began:.1f}s", flush=True)
        dovecot.setup(messages, SMALL, stored_hash(tidings))
        tidings.start()
        dovecot.start()
        try:
            results = {}
            for name, server in (("tidings", tidings), ("dovecot", dovecot)):
                if args.only in (None, name):
                    results[name] = asyncio.run(measure_server(name, server, args, total))
        finally:
            tidings.stop()
            dovecot.stop()
    if len(results) < 2:
        return
    text = report(results["tidings"], results["dovecot"], args, total)
    print(text)
    if args.record:
        record(text, args, total)


def stored_hash(tidings: TidingsServer) -> str:
    """The argon2id hash Tidings stored for the bench user (Dovecot gets the same)."""
    import sqlite3

    db = sqlite3.connect(tidings.data / "tidings.db")
    try:
        row = db.execute("SELECT password_hash FROM principals WHERE name = ?", (USER,)).fetchone()
    finally:
        db.close()
    return str(row[0])


def record(text: str, args: argparse.Namespace, total: int) -> None:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    head = (f"\n## IMAP: Tidings vs Dovecot ({machine()})\n\n"
            f"`bench/imap.py` — {total} messages, median of {args.runs} runs, "
            f"{args.seconds:.0f} s per (a) run; load average at the end: {load} "
            "(the machine was shared with other work).\n\n")
    with RESULTS.open("a") as out:
        out.write(head + text)


if __name__ == "__main__":
    main()
