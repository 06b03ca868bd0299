"""SMTP ingest: messages per second accepted and durably stored, Tidings against
Postfix delivering into Dovecot over LMTP, on this machine in the same run.

Load: Postfix's `smtp-source` (20 concurrent sessions, 10 KB messages, each session
reusing its connection), or the asyncio client below with `--load asyncio`.
A message counts as done when the sink has it durably:
- Tidings (SQLite, durability full, default config): its `250` after DATA, which is
  sent only after the group commit (ARCHITECTURE.md rule 3);
- Postfix + Dovecot: when the message file is in the recipient's Maildir (Postfix
  fsyncs its queue file before its own 250; Dovecot's LMTP acknowledges after saving).
Throughput is end-to-end over a fixed number of messages; the median of three runs
per system (interleaved) is reported, and `--record` appends it to bench/RESULTS.md.

Postfix and Dovecot come from Debian (`apt-get install -y postfix dovecot-lmtpd
dovecot-imapd`) and run from a temporary directory on high loopback ports, with their
own configuration (`postfix -c DIR`, `dovecot -c FILE`); the system's mail setup is
never used or changed, and nothing leaves loopback. Both are stopped at the end.

    .venv/bin/python bench/smtp.py [--messages 2000] [--runs 3] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import grp
import os
import platform
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
TIDINGS = [sys.executable, "-m", "tidings.cli.main"]
DOMAIN = "bench.test"
SENDER = "load@client.example"
PACKAGES = ("postfix", "dovecot-lmtpd", "dovecot-imapd")


@dataclass(frozen=True)
class Load:
    messages: int
    senders: int
    size: int
    tool: str  # "smtp-source" or "asyncio"


@dataclass(frozen=True)
class RunResult:
    seconds: float  # until the sink had every message
    accepted_seconds: float  # until the load generator had every 250

    def rate(self, messages: int) -> float:
        return messages / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing is listening on 127.0.0.1:{port}")


# --- the load ---------------------------------------------------------------------


def run_load(port: int, recipient: str, load: Load) -> float:
    """Send `load.messages` messages; returns the seconds until the last 250."""
    started = time.perf_counter()
    if load.tool == "smtp-source":
        subprocess.run(
            ["smtp-source", "-d", "-s", str(load.senders), "-m", str(load.messages),
             "-l", str(load.size), "-f", SENDER, "-t", recipient, "-M", "client.example",
             f"127.0.0.1:{port}"],
            check=True, capture_output=True, timeout=900,
        )
    else:
        asyncio.run(asyncio_load(port, recipient, load))
    return time.perf_counter() - started


async def asyncio_load(port: int, recipient: str, load: Load) -> None:
    """The same load as smtp-source -d: N sessions, each sending until the count is
    reached; any reply other than the expected one aborts the run."""
    body = b"".join(
        b"%05d " % i + b"x" * 72 + b"\r\n" for i in range(max(1, load.size // 80))
    )
    remaining = [load.messages]

    async def session() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def expect(code: bytes) -> None:
            while True:
                line = await reader.readline()
                if not line.startswith(code):
                    raise RuntimeError(f"expected {code!r}, got {line!r}")
                if line[3:4] == b" ":
                    return

        await expect(b"220")
        writer.write(b"EHLO client.example\r\n")
        await expect(b"250")
        while remaining[0] > 0:
            remaining[0] -= 1
            header = (f"From: <{SENDER}>\r\nTo: <{recipient}>\r\n"
                      f"Subject: load {remaining[0]}\r\n\r\n").encode()
            writer.write(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
            await expect(b"250")
            await expect(b"250")
            await expect(b"354")
            writer.write(header + body + b".\r\n")
            await expect(b"250")
        writer.write(b"QUIT\r\n")
        await writer.drain()
        writer.close()

    await asyncio.gather(*(session() for _ in range(load.senders)))


# --- Tidings ----------------------------------------------------------------------


class Tidings:
    """`tidings init` + `tidings serve` with only the smtp listener, default config."""

    def __init__(self, work: Path, workers: int | None = None) -> None:
        self.work = work
        # `serve --workers`: processes sharing the listener; None: the config's
        # default ("auto", one per CPU).
        self.workers = workers
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.data = work / "data"

    def start(self) -> None:
        if self.data.exists():
            shutil.rmtree(self.data)
        subprocess.run([*TIDINGS, "init", "--data", str(self.data), "--domain", DOMAIN],
                       cwd=ROOT, check=True, capture_output=True)
        subprocess.run([*TIDINGS, "user", "add", f"rcpt@{DOMAIN}", "--password-stdin",
                        "--data", str(self.data)], cwd=ROOT, check=True, capture_output=True,
                       input=b"bench password\n")
        from tidings.config import LISTENER_NAMES

        listen = [f"--listen={n}=" for n in LISTENER_NAMES if n != "smtp"]
        log = (self.work / "tidings.log").open("ab")
        self.proc = subprocess.Popen(
            [*TIDINGS, "serve", "--data", str(self.data), "--log-level", "warning",
             *(["--workers", str(self.workers)] if self.workers is not None else []),
             f"--listen=smtp=127.0.0.1:{self.port}", *listen],
            cwd=ROOT, stdout=log, stderr=log,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None

    def stored(self) -> int:
        """Messages in the recipient's INBOX (the server must be stopped)."""
        return asyncio.run(_count_inbox(self.data))

    def run(self, load: Load) -> RunResult:
        self.start()
        try:
            seconds = run_load(self.port, f"rcpt@{DOMAIN}", load)
        finally:
            self.stop()
        stored = self.stored()
        if stored != load.messages:
            raise RuntimeError(f"Tidings stored {stored} of {load.messages} messages")
        return RunResult(seconds, seconds)


async def _count_inbox(data: Path) -> int:
    from tidings.config import load_settings
    from tidings.model.ids import AccountId
    from tidings.model.mail import MailboxRole
    from tidings.store import open_store

    settings = load_settings(data / "tidings.toml")
    store = await open_store(settings.database.url, settings.blobs.path, migrate=False)
    try:
        user = await store.directory.find_principal(f"rcpt@{DOMAIN}")
        inbox = await store.mail.mailbox_by_role(user, AccountId(user.id), MailboxRole.INBOX)
        return len(await store.mail.messages(user, inbox.id))
    finally:
        await store.close()


# --- Postfix + Dovecot --------------------------------------------------------------


def install_reference() -> None:
    missing = [p for p in PACKAGES if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True,
    ).stdout != "install ok installed"]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # "No configuration": the package must not set up a system mail server.
    subprocess.run(["debconf-set-selections"], check=True, env=env,
                   input=b"postfix postfix/main_mailer_type select No configuration\n")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


MAIN_CF = """\
compatibility_level = 3.6
config_directory = {dir}
queue_directory = {dir}/queue
data_directory = {dir}/data
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
syslog_name = postfix-bench
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.invalid
mydomain = bench.invalid
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = static:OK
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
"""

DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = {dir}/users
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
"""


class PostfixDovecot:
    """A private Postfix (SMTP in, LMTP out) and a private Dovecot (LMTP into Maildir)."""

    def __init__(self, work: Path, recipients: int) -> None:
        self.work = work
        self.postfix_dir = work / "postfix"
        self.dovecot_dir = work / "dovecot"
        self.smtp_port = free_port()
        self.lmtp_port = free_port()
        self.recipients = [f"rcpt{i}@{DOMAIN}" for i in range(recipients)]
        self.next_recipient = 0

    def start(self) -> None:
        mail = pwd.getpwnam("mail")
        self._write_dovecot(mail.pw_uid, grp.getgrnam("mail").gr_gid)
        subprocess.run(["dovecot", "-c", str(self.dovecot_dir / "dovecot.conf")], check=True)
        wait_for_port(self.lmtp_port)
        self._write_postfix()
        started = subprocess.run(["postfix", "-c", str(self.postfix_dir), "start"],
                                 capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"postfix did not start: {started.stderr.strip()}")
        wait_for_port(self.smtp_port)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(["postfix", "-c", str(self.postfix_dir), "stop"],
                           check=True, capture_output=True)
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(["dovecot", "-c", str(self.dovecot_dir / "dovecot.conf"), "stop"],
                           check=True, capture_output=True)
        self._wait_gone(self.postfix_dir / "data" / "master.lock")
        time.sleep(1)

    @staticmethod
    def _wait_gone(lock: Path) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not lock.exists():
                return
            pid = lock.read_text().strip()
            if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.1)

    def _write_dovecot(self, uid: int, gid: int) -> None:
        d = self.dovecot_dir
        (d / "home").mkdir(parents=True)
        lines = []
        for address in self.recipients:
            home = d / "home" / address.split("@")[0]
            home.mkdir()
            os.chown(home, uid, gid)
            lines.append(f"{address}:{{PLAIN}}bench:{uid}:{gid}::{home}::\n")
        (d / "users").write_text("".join(lines))
        (d / "dovecot.conf").write_text(DOVECOT_CONF.format(dir=d, lmtp_port=self.lmtp_port))

    def _write_postfix(self) -> None:
        d = self.postfix_dir
        d.mkdir()
        (d / "queue").mkdir()  # root's; `postfix start` adds the queue's subdirectories
        (d / "data").mkdir(mode=0o700)
        owner = pwd.getpwnam("postfix")
        os.chown(d / "data", owner.pw_uid, owner.pw_gid)
        (d / "main.cf").write_text(
            MAIN_CF.format(dir=d, domain=DOMAIN, lmtp_port=self.lmtp_port)
        )
        master = []
        for line in Path("/usr/share/postfix/master.cf.dist").read_text().splitlines():
            fields = line.split()
            if line.startswith(("#", " ", "\t")) or len(fields) < 8:
                master.append(line)
                continue
            if fields[0] == "smtp" and fields[1] == "inet":
                fields[0] = f"127.0.0.1:{self.smtp_port}"
            if fields[0] in ("submission", "submissions", "smtps"):
                continue
            fields[4] = "n"  # no chroot: the queue lives in our temporary directory
            master.append("  ".join(fields))
        (d / "master.cf").write_text("\n".join(master) + "\n")

    def delivered(self, recipient: str) -> int:
        maildir = self.dovecot_dir / "home" / recipient.split("@")[0] / "Maildir"
        count = 0
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                count += sum(1 for _ in os.scandir(maildir / sub))
        return count

    def run(self, load: Load) -> RunResult:
        recipient = self.recipients[self.next_recipient]
        self.next_recipient += 1
        started = time.perf_counter()
        accepted = run_load(self.smtp_port, recipient, load)
        deadline = time.monotonic() + 600
        while self.delivered(recipient) < load.messages:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot has {self.delivered(recipient)} messages")
            time.sleep(0.005)
        return RunResult(time.perf_counter() - started, accepted)


# --- the report ----------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"1-minute load average {load:.1f} at the end (the benchmark's own processes included)")


def versions() -> str:
    postfix = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                             text=True).stdout.strip()
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True,
                             text=True).stdout.split()[0]
    return f"Postfix {postfix}, Dovecot {dovecot}"


def _workers_text(workers: int | None) -> str:
    if workers is None:
        return f"default config: {os.cpu_count()} workers, one per CPU"
    return f"serve --workers {workers}"


def section(load: Load, tidings: list[RunResult], reference: list[RunResult],
            workers: int | None = None) -> str:
    n = load.messages
    t = statistics.median(r.rate(n) for r in tidings)
    p = statistics.median(r.rate(n) for r in reference)
    p_acc = statistics.median(n / r.accepted_seconds for r in reference)
    runs_t = ", ".join(f"{r.rate(n):.0f}" for r in tidings)
    runs_p = ", ".join(f"{r.rate(n):.0f}" for r in reference)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""
## SMTP ingest: Tidings vs Postfix + Dovecot (bench/smtp.py)

{today}; {machine()}; {versions()}.
Load: {load.tool}, {load.senders} concurrent sessions (connections reused),
{n} messages of {load.size} bytes to one local mailbox per run; median of
{len(tidings)} interleaved runs. Done = durably in the mailbox: Tidings' 250
(SQLite, durability full, default config); for Postfix, the file in Dovecot's
Maildir (Postfix fsyncs its queue, Dovecot LMTP acknowledges after saving).

| system | msg/s (median) | runs |
| --- | ---: | --- |
| Tidings ({_workers_text(workers)}) | {t:.0f} | {runs_t} |
| Postfix -> LMTP -> Dovecot (end to end) | {p:.0f} | {runs_p} |
| Postfix, accepted into its queue only | {p_acc:.0f} | |

Ratio Tidings / Postfix+Dovecot: **{t / p:.2f}**
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--size", type=int, default=10 * 1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", choices=("smtp-source", "asyncio"), default="smtp-source")
    parser.add_argument("--workers", type=int, default=None,
                        help="tidings serve --workers N (default: the config's, one per CPU)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    install_reference()
    load = Load(args.messages, args.senders, args.size, args.load)
    warmup = Load(min(200, args.messages), args.senders, args.size, args.load)
    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # Postfix and Dovecot run as their own users
        tidings, tidings_runs, reference_runs = Tidings(work, args.workers), [], []
        reference = PostfixDovecot(work, recipients=args.runs + 1)
        with _stopping(reference):
            reference.start()
            reference.run(warmup)
            tidings.run(warmup)
            for index in range(args.runs):
                tidings_runs.append(tidings.run(load))
                reference_runs.append(reference.run(load))
                print(f"run {index + 1}: tidings {tidings_runs[-1].rate(load.messages):.0f}"
                      f" msg/s, postfix+dovecot {reference_runs[-1].rate(load.messages):.0f}"
                      " msg/s", file=sys.stderr)
    text = section(load, tidings_runs, reference_runs, args.workers)
    sys.stdout.write(text)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as results:
            if results.tell() == 0:
                results.write("# Benchmark results\n")
            results.write(text)


@contextlib.contextmanager
def _stopping(reference: PostfixDovecot) -> Iterator[None]:
    try:
        yield
    finally:
        reference.stop()


if __name__ == "__main__":
    main()
