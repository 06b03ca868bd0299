"""The two IMAP servers `bench/imap.py` compares, each set up in a temp directory.

Tidings: `tidings init` + `tidings user add`, messages loaded through the store API
(`MailService.append_many`, the path IMAP APPEND takes), then `tidings serve` in a
subprocess with default settings except listeners and the connection limits (the
defaults, 50 per IP, would refuse the 1,000 idle connections of benchmark (d)).

Dovecot: installed from Debian (`apt-get install -y dovecot-imapd`) if missing, run
with its own `-c FILE` on a high loopback port, passwd-file passdb holding the very
same argon2id hash Tidings stores, static userdb, Maildir under the temp dir; the
system's Dovecot setup is never touched. Stopped with `doveadm -c FILE stop`.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

USER = "bench@bench.test"
PASSWORD = "bench-password-0123"
# Dovecot only: the same mailbox (a symlink) behind a {PLAIN} password, to show what
# Dovecot does when a login costs no hashing (Tidings' cached LOGIN is closer to that).
FAST_USER = "fast@bench.test"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.recv(100)
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def process_memory_kib(pids: Sequence[int]) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in KiB over the processes (PSS shares shared pages)."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss, pss


def is_alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """The process and all its children, recursively."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for text in child.read_text().split():
            found += descendants(int(text))
    return found


class TidingsServer:
    def __init__(self, root: Path) -> None:
        self.data = root / "tidings"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(VENV_BIN / "tidings"), *args], input=stdin,
                              capture_output=True, text=True, check=True)
        return done.stdout

    def setup(self, messages: Sequence[bytes], small: int) -> None:
        self._cli("init", "--data", str(self.data), "--domain", "bench.test")
        config = self.data / "tidings.toml"
        text = config.read_text()
        text = text.replace("# max_connections_per_listener = 1000",
                            "max_connections_per_listener = 5000")
        text = text.replace("# max_connections_per_ip = 50", "max_connections_per_ip = 5000")
        config.write_text(text)
        self._cli("user", "add", "--data", str(self.data), "--password-stdin", USER,
                  stdin=PASSWORD + "\n")
        asyncio.run(self._load(config, messages, small))

    async def _load(self, config: Path, messages: Sequence[bytes], small: int) -> None:
        from tidings.cli.common import opened_store
        from tidings.config import load_settings
        from tidings.imap.commands.append import parsed_headers
        from tidings.model.ids import AccountId
        from tidings.store.services import NewMessage

        async with opened_store(load_settings(config)) as store:
            actor = await store.directory.find_principal(USER)
            account = AccountId(actor.id)
            inbox = await store.mail.find_mailbox(actor, account, "INBOX")
            little = await store.mail.create_mailbox(actor, account, "Small")
            for target, chosen in ((inbox, messages), (little, messages[:small])):
                for start in range(0, len(chosen), 500):
                    batch = []
                    for serial, raw in enumerate(chosen[start:start + 500], start):
                        blob = await store.blobs.put(raw)
                        batch.append(NewMessage(target.id, blob, parsed_headers(raw),
                                                frozenset(flags_for(serial)),
                                                internal_date(serial)))
                    await store.mail.append_many(actor, batch)

    def start(self) -> None:
        listens = ["smtp=", "submission=", "submissions=", "imaps=", "pop3=", "pop3s=",
                   "managesieve=", "http=", "https=", f"imap=127.0.0.1:{self.port}"]
        args = [str(VENV_BIN / "tidings"), "serve", "--data", str(self.data)]
        for item in listens:
            args += ["--listen", item]
        log = (self.data / "serve.log").open("wb")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port)

    def pids(self) -> list[int]:
        """The server and its workers (one per CPU by default), as for Dovecot."""
        assert self.process is not None
        return descendants(self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class DovecotServer:
    def __init__(self, root: Path) -> None:
        self.root = root / "dovecot"
        self.port = free_port()
        self.config = self.root / "dovecot.conf"

    @staticmethod
    def install() -> None:
        if shutil.which("dovecot") and Path("/usr/lib/dovecot/imap").exists():
            return
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "dovecot-imapd"], check=True, env=env,
                       stdout=subprocess.DEVNULL)

    def setup(self, messages: Sequence[bytes], small: int, password_hash: str) -> None:
        owner = pwd.getpwnam("dovecot")
        for sub in ("run", "state", "log", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root.parent, 0o755)
        (self.root / "passwd").write_text(f"{USER}:{{ARGON2ID}}{password_hash}\n"
                                          f"{FAST_USER}:{{PLAIN}}{PASSWORD}\n")
        self.config.write_text(dovecot_conf(self.root, self.port, owner.pw_uid, owner.pw_gid))
        maildir = self.root / "mail" / USER
        write_maildir(maildir, messages)
        write_maildir(maildir / ".Small", messages[:small])
        for path in [maildir, *maildir.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        (self.root / "mail" / FAST_USER).symlink_to(maildir)
        for path in [self.root / "home", self.root / "mail"]:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def start(self) -> None:
        subprocess.run(["dovecot", "-c", str(self.config)], check=True)
        wait_for_port(self.port)

    def pids(self) -> list[int]:
        master = int((self.root / "run" / "master.pid").read_text().split()[0])
        return descendants(master)

    def stop(self) -> None:
        try:
            master = self.pids()[0]
        except (OSError, ValueError):
            return
        subprocess.run(["doveadm", "-c", str(self.config), "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30.0
        while is_alive(master) and time.monotonic() < deadline:
            time.sleep(0.1)
        # The daemonised master may linger as a zombie where nothing reaps orphans; its
        # pid file would make the next `dovecot` refuse to start.
        (self.root / "run" / "master.pid").unlink(missing_ok=True)


def dovecot_conf(root: Path, port: int, uid: int, gid: int) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
mail_max_userip_connections = 5000
default_process_limit = 2000
default_client_limit = 5000
default_vsz_limit = 0
# The same verified-credential cache Tidings keeps (see RESULTS.md).
auth_cache_size = 10M
auth_cache_ttl = 60 s
auth_cache_negative_ttl = 0
# Verify hashes in the auth worker processes (all cores), not the single auth master.
auth_cache_verify_password_with_worker = yes
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service imap {{
  process_limit = 2000
}}
service auth {{
  client_limit = 6000
}}
service anvil {{
  client_limit = 6000
}}
"""


def write_maildir(path: Path, messages: Sequence[bytes]) -> None:
    """Maildir files in cur/ with the same flags and internal dates (mtime) as Tidings."""
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for serial, raw in enumerate(messages):
        letters = "".join(sorted({"\\Seen": "S", "\\Flagged": "F"}[f] for f in flags_for(serial)))
        name = path / "cur" / f"{1700000000 + serial}.M{serial}P1.bench:2,{letters}"
        name.write_bytes(raw.replace(b"\r\n", b"\n"))
        stamp = internal_date(serial).timestamp()
        os.utime(name, (stamp, stamp))


def flags_for(serial: int) -> set[str]:
    flags = set()
    if serial % 3:
        flags.add("\\Seen")
    if serial % 17 == 0:
        flags.add("\\Flagged")
    return flags


def internal_date(serial: int) -> datetime:
    return datetime.fromtimestamp(1_700_000_000 + serial * 600, UTC)
