"""CalDAV benchmark: Tidings against Radicale, same machine, same run, same client.

Each server runs as a subprocess on a loopback port with HTTP Basic auth:
Tidings as `tidings serve` (SQLite, default durability), Radicale from PyPI with a
plain htpasswd file and its filesystem storage. The same httpx client drives both:

  put        bulk PUT of N events (10% recurring), 8 requests in flight
  report     a one-month calendar-query time-range REPORT with <C:expand>
  sync       sync-collection with the token taken before 100 changes
  multiget   calendar-multiget of 500 hrefs with calendar-data

Each figure is the median of `--runs` runs (PUT: a fresh calendar per run).

    .venv/bin/python bench/caldav.py --quick            # 1,000 events, to iterate
    .venv/bin/python bench/caldav.py --record           # 10,000 events, RESULTS.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent
RESULTS = Path(__file__).with_name("RESULTS.md")
MARK_START, MARK_END = "<!-- bench/caldav.py start -->", "<!-- bench/caldav.py end -->"
USER, PASSWORD = "bench@bench.test", "bench-password-0123"
IN_FLIGHT = 8
CHANGES = 100
SAMPLE = 200  # PUTs timed against a full calendar
MULTIGET = 500
MONTH = ("20250601T000000Z", "20250701T000000Z")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


# --- the data ---------------------------------------------------------------------
def make_events(count: int, seed: int = 7, prefix: str = "") -> list[tuple[str, str]]:
    """(resource name, iCalendar) pairs over 2025; every 10th one recurs."""
    rng = random.Random(seed)
    start_of_year = datetime(2025, 1, 1, tzinfo=UTC)
    events = []
    for n in range(count):
        start = start_of_year + timedelta(
            days=rng.randrange(365), hours=rng.randrange(7, 19), minutes=rng.choice((0, 30))
        )
        end = start + timedelta(minutes=rng.choice((30, 60, 90, 120)))
        uid = f"bench-{prefix}{n:06d}@bench.test"
        rule = ""
        if n % 10 == 0:
            rule = rng.choice(
                (
                    "RRULE:FREQ=WEEKLY;COUNT=20\r\n",
                    "RRULE:FREQ=DAILY;COUNT=10\r\n",
                    "RRULE:FREQ=MONTHLY;COUNT=12\r\n",
                    "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20251231T235959Z\r\n",
                )
            )
            if "BYDAY" in rule:
                # RFC 5545 leaves an unsynchronised DTSTART undefined (Radicale drops
                # it, Tidings keeps it as the first instance): start on a rule day.
                length = end - start
                while start.weekday() not in (0, 2, 4):
                    start += timedelta(days=1)
                end = start + length
        events.append((f"{uid.split('@')[0]}.ics", ical(uid, start, end, rule, f"Event {n}")))
    return events


def ical(uid: str, start: datetime, end: datetime, rule: str, summary: str) -> str:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tidings bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{start.strftime(fmt)}\r\n"
        f"DTEND:{end.strftime(fmt)}\r\n{rule}SUMMARY:{summary}\r\n"
        "DESCRIPTION:A benchmark event with a little text in it.\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


REPORT_BODY = f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data>
<C:expand start="{MONTH[0]}" end="{MONTH[1]}"/></C:calendar-data></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="{MONTH[0]}" end="{MONTH[1]}"/></C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def sync_body(token: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""


def multiget_body(hrefs: Sequence[str]) -> str:
    inner = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>{inner}</C:calendar-multiget>"""


def token_of(text: str) -> str:
    found = re.search(r"<(?:\w+:)?sync-token>([^<]*)</(?:\w+:)?sync-token>", text)
    if found is None:
        raise RuntimeError(f"no sync-token in {text[:300]!r}")
    return found.group(1)


# --- the servers ----------------------------------------------------------------------
class TidingsServer:
    name = "Tidings"

    def __init__(self, root: Path) -> None:
        self.data = root / "tidings"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def calendar_path(self, name: str) -> str:
        return f"/dav/calendars/{USER}/{name}/"

    def start(self) -> None:
        tidings = str(VENV_BIN / "tidings")
        subprocess.run(
            [tidings, "init", "--data", str(self.data), "--domain", "bench.test"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [tidings, "user", "add", "--data", str(self.data), "--password-stdin", USER],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        listens = ["smtp=", "submission=", "submissions=", "imap=", "imaps=", "pop3="]
        listens += ["pop3s=", "managesieve=", "https=", f"http=127.0.0.1:{self.port}"]
        args = [tidings, "serve", "--data", str(self.data)]
        for item in listens:
            args += ["--listen", item]
        log = (self.data / "serve.log").open("wb")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for_http(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


class RadicaleServer:
    name = "Radicale"

    def __init__(self, root: Path) -> None:
        self.root = root / "radicale"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def calendar_path(self, name: str) -> str:
        return f"/{USER}/{name}/"

    def start(self) -> None:
        self.root.mkdir(parents=True)
        users = self.root / "users"
        users.write_text(f"{USER}:{PASSWORD}\n")
        args = [
            str(VENV_BIN / "radicale"),
            "--storage-filesystem-folder",
            str(self.root / "collections"),
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(users),
            "--auth-htpasswd-encryption",
            "plain",
            "--server-hosts",
            f"127.0.0.1:{self.port}",
            "--server-max-content-length",
            "100000000",
        ]
        log = (self.root / "serve.log").open("wb")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for_http(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


Server = TidingsServer | RadicaleServer


# --- the workloads --------------------------------------------------------------------
@dataclass
class Figures:
    bulk: float | None = None  # seconds to PUT every event into an empty calendar
    put: list[float] = field(default_factory=list)  # seconds for SAMPLE PUTs at full size
    report: list[float] = field(default_factory=list)
    sync: list[float] = field(default_factory=list)
    multiget: list[float] = field(default_factory=list)
    instances: int = 0  # VEVENTs the month REPORT returned (the servers must agree)
    synced: int = 0  # responses in the sync-collection answer


async def timed(call: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    """The request's wall time (the coroutine starts only when awaited here)."""
    began = time.perf_counter()
    answer = await call
    return time.perf_counter() - began, answer


def check(answer: httpx.Response, *statuses: int) -> httpx.Response:
    if answer.status_code not in statuses:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url}: {answer.status_code}"
            f" {answer.text[:300]}"
        )
    return answer


async def put_all(client: httpx.AsyncClient, base: str, events: Sequence[tuple[str, str]]) -> None:
    """PUT each (name or absolute href, body), IN_FLIGHT at a time."""
    queue = list(reversed(events))
    headers = {"Content-Type": "text/calendar; charset=utf-8"}

    async def worker() -> None:
        while queue:
            name, body = queue.pop()
            url = name if name.startswith("/") else base + name
            check(await client.put(url, content=body, headers=headers), 201, 204)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def upload_whole(
    client: httpx.AsyncClient, path: str, events: Sequence[tuple[str, str]]
) -> None:
    """Radicale's own bulk import: one VCALENDAR PUT on the collection (untimed set-up;
    PUT-ing 10,000 items one by one is quadratic there and takes hours)."""
    inner = "".join(
        body[body.index("BEGIN:VEVENT") : body.index("END:VEVENT") + len("END:VEVENT\r\n")]
        for _, body in events
    )
    whole = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tidings bench//EN\r\n" + inner
    whole += "END:VCALENDAR\r\n"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    check(await client.put(path, content=whole, headers=headers), 201, 204)


async def list_hrefs(client: httpx.AsyncClient, path: str) -> list[str]:
    answer = check(await client.request("PROPFIND", path, headers={"Depth": "1"}), 207)
    found = re.findall(r"<(?:\w+:)?href>([^<]*)</(?:\w+:)?href>", answer.text)
    return sorted(h for h in found if h.rstrip("/") != path.rstrip("/") and h.endswith(".ics"))


async def make_calendar(client: httpx.AsyncClient, path: str) -> None:
    check(await client.request("MKCALENDAR", path), 201)


async def bench_server(
    server: Server, events: list[tuple[str, str]], runs: int, bulk: bool
) -> Figures:
    figures = Figures()
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}",
        auth=(USER, PASSWORD),
        timeout=600,
        limits=limits,
    ) as client:
        main = server.calendar_path("bench0")
        await make_calendar(client, main)
        began = time.perf_counter()
        if bulk:
            await put_all(client, main, events)
            figures.bulk = time.perf_counter() - began
        else:
            await upload_whole(client, main, events)
        print(f"  {server.name} loaded: {time.perf_counter() - began:.1f} s", flush=True)
        hrefs = await list_hrefs(client, main)
        assert len(hrefs) == len(events), (len(hrefs), len(events))
        for run in range(runs):
            extra = make_events(SAMPLE, seed=100 + run, prefix=f"x{run}-")
            began = time.perf_counter()
            await put_all(client, main, extra)
            figures.put.append(time.perf_counter() - began)
        for _ in range(runs):
            seconds, answer = await timed(
                client.request("REPORT", main, content=REPORT_BODY, headers={"Depth": "1"})
            )
            figures.report.append(seconds)
            figures.instances = check(answer, 207).text.count("BEGIN:VEVENT")
        rng = random.Random(11)
        for run in range(runs):
            first = await client.request("REPORT", main, content=sync_body(""))
            token = token_of(check(first, 207).text)
            changed = []
            for href in rng.sample(hrefs, CHANGES):
                body = check(await client.get(href), 200).text
                changed.append((href, body.replace("SUMMARY:", f"SUMMARY:changed {run} ")))
            await put_all(client, main, changed)
            seconds, answer = await timed(client.request("REPORT", main, content=sync_body(token)))
            figures.sync.append(seconds)
            figures.synced = len(re.findall(r"<(?:\w+:)?response>", check(answer, 207).text))
        for _ in range(runs):
            chosen = rng.sample(hrefs, min(MULTIGET, len(hrefs)))
            seconds, answer = await timed(
                client.request("REPORT", main, content=multiget_body(chosen))
            )
            figures.multiget.append(seconds)
            if check(answer, 207).text.count("BEGIN:VCALENDAR") != len(chosen):
                raise RuntimeError("multiget lost objects")
    return figures


def run_one(cls: type[Server], events: list[tuple[str, str]], runs: int, bulk: bool) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench-caldav-") as root:
        server = cls(Path(root))
        server.start()
        try:
            return asyncio.run(bench_server(server, events, runs, bulk))
        finally:
            server.stop()


# --- the report -----------------------------------------------------------------------
def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    cpus, load = os.cpu_count(), os.getloadavg()[0]
    return (
        f"{model or platform.processor()}, {cpus} CPUs, Python {platform.python_version()}, "
        f"1-minute load average {load:.1f} at the end (the machine was shared)"
    )


def radicale_version() -> str:
    done = subprocess.run(
        [str(VENV_BIN / "radicale"), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "?"


def table(events: int, ours: Figures, theirs: Figures) -> str:
    def rate(seconds: Sequence[float] | float | None, count: int) -> str:
        if seconds is None:
            return "n/a"
        value = statistics.median(seconds) if isinstance(seconds, Sequence) else seconds
        return f"{count / value:,.0f} PUT/s"

    def ratio(mine: Sequence[float] | float | None, other: Sequence[float] | float | None) -> str:
        if mine is None or other is None:
            return "n/a"
        a = statistics.median(mine) if isinstance(mine, Sequence) else mine
        b = statistics.median(other) if isinstance(other, Sequence) else other
        return f"{b / a:.1f}x"

    lines = [
        "| operation | Tidings | Radicale | ratio | notes |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| bulk PUT into an empty calendar | {rate(ours.bulk, events)} | "
        f"{rate(theirs.bulk, events)} | {ratio(ours.bulk, theirs.bulk)} | {events:,} events "
        f"(10% recurring), {IN_FLIGHT} in flight |",
        f"| PUT into the full calendar | {rate(ours.put, SAMPLE)} | {rate(theirs.put, SAMPLE)} "
        f"| {ratio(ours.put, theirs.put)} | {SAMPLE} new events into {events:,}, "
        f"{IN_FLIGHT} in flight |",
    ]
    for name, mine, other, note in (
        (
            "month REPORT + expand",
            ours.report,
            theirs.report,
            f"{ours.instances} / {theirs.instances} instances",
        ),
        (
            "sync-collection",
            ours.sync,
            theirs.sync,
            f"after {CHANGES} changes: {ours.synced} / {theirs.synced} responses",
        ),
        ("calendar-multiget", ours.multiget, theirs.multiget, f"{MULTIGET} hrefs"),
    ):
        a, b = statistics.median(mine), statistics.median(other)
        lines.append(
            f"| {name} | {a * 1000:,.1f} ms | {b * 1000:,.1f} ms | {b / a:.1f}x | {note} |"
        )
    return "\n".join(lines)


def record(text: str) -> None:
    """Replace this script's section of RESULTS.md (others keep theirs)."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"{MARK_START}\n{text}\n{MARK_END}"
    if MARK_START in existing and MARK_END in existing:
        head, rest = existing.split(MARK_START, 1)
        existing = head + section + rest.split(MARK_END, 1)[1]
    else:
        existing = existing.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(existing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 events")
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    parser.add_argument("--only", choices=["tidings", "radicale"], default=None)
    parser.add_argument(
        "--radicale-bulk-limit",
        type=int,
        default=2_000,
        help="above this many events Radicale is loaded with one collection PUT",
    )
    args = parser.parse_args()
    count = 1_000 if args.quick else args.events
    events = make_events(count)
    figures: dict[str, Figures] = {}
    for cls in (TidingsServer, RadicaleServer):
        if args.only and args.only != cls.name.lower():
            continue
        bulk = cls is TidingsServer or count <= args.radicale_bulk_limit
        print(f"{cls.name}: {count} events, {args.runs} runs", flush=True)
        figures[cls.name] = run_one(cls, events, args.runs, bulk)
        print(f"  {figures[cls.name]}", flush=True)
    if len(figures) < 2:
        return
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"## CalDAV: Tidings vs Radicale ({when})\n\n"
        f"`bench/caldav.py{' --quick' if args.quick else ''}` on {machine()}. "
        f"Radicale {radicale_version()} (PyPI; filesystem storage, plain htpasswd) and "
        f"Tidings `tidings serve` (SQLite, durability full), each a subprocess on loopback "
        f"HTTP with Basic auth, driven by the same httpx client. Median of {args.runs} runs; "
        f"ratio = Radicale's time / Tidings' time.\n\n"
        + table(count, figures["Tidings"], figures["Radicale"])
        + "\n"
    )
    if figures["Radicale"].bulk is None:
        text += (
            f"\nRadicale's bulk PUT is not run at {count:,} events: each of its PUTs reads "
            f"the whole collection, so one-by-one loading is quadratic (1,000 events took "
            f"51 to 105 s here, 2,000 did not finish in 5 min). It is loaded with one "
            f"whole-calendar "
            f"PUT instead, and PUT speed is compared on {SAMPLE} PUTs into the full "
            f"calendar.\n"
        )
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
