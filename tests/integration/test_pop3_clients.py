"""POP3 against Debian's fetchmail (STLS and POP3S) and getmail6 (POP3S, UIDL-based
"new mail only"), with a real server and SQLite store on loopback.

Needs the Debian packages `fetchmail` and `getmail6`; getmail refuses root, so it
runs as `nobody` (via `runuser`) in a directory that user owns.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from tests.integration.test_pop3 import (
    MESSAGE_1,
    MESSAGE_2,
    PASSWORD,
    USER,
    POP3Env,
    start_env,
)
from tests.integration.test_pop3 import ca as ca

pytestmark = [
    pytest.mark.slow,
]

needs_fetchmail = pytest.mark.needs_program("fetchmail", package="fetchmail")
needs_getmail = pytest.mark.needs_program("getmail", "runuser", package="getmail6, util-linux")


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[POP3Env]:
    async for value in start_env(tmp_path, ca, plaintext_on_loopback=False):
        yield value


async def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a client without blocking the server that shares this event loop."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def fetchmail_rc(path: Path, port: int, maildir: Path, *, implicit_tls: bool, keep: bool) -> Path:
    tls = "ssl" if implicit_tls else "sslproto 'TLS1.2+'"
    rc = path / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f"poll 127.0.0.1 service {port} protocol pop3 uidl auth password\n"
        f'  user "{USER}" there with password "{PASSWORD}" is "root" here\n'
        f"  {tls} no sslcertck\n"
        f"  {'keep' if keep else 'nokeep'} fetchall\n"
        f'  mda "cat > {maildir}/msg.$$"\n'
    )
    rc.chmod(0o600)  # fetchmail refuses a readable rc file
    return rc


async def fetchmail(tmp_path: Path, rc: Path) -> tuple[int, str]:
    home = {"HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path), "PATH": os.environ["PATH"]}
    return await run(
        "fetchmail",
        "-f",
        str(rc),
        "--nosyslog",
        "-v",
        "--nodetach",
        "--pidfile",
        str(tmp_path / "fetchmail.pid"),
        env=home,
    )


def received(maildir: Path) -> list[bytes]:
    return sorted(path.read_bytes() for path in maildir.iterdir())


def strip_received(data: bytes) -> bytes:
    """fetchmail prepends a Received: header of its own; drop it to compare bodies."""
    if data.startswith(b"Received:"):
        end = data.find(b"\n", 0)
        while data[end + 1 : end + 2] in (b" ", b"\t"):
            end = data.find(b"\n", end + 1)
        return data[end + 1 :]
    return data


@needs_fetchmail
async def test_fetchmail_over_stls_fetches_and_deletes(env: POP3Env, tmp_path: Path) -> None:
    maildir = tmp_path / "fetched"
    maildir.mkdir()
    rc = fetchmail_rc(tmp_path, env.pop3_port, maildir, implicit_tls=False, keep=False)
    code, log = await fetchmail(tmp_path, rc)
    assert code == 0, log
    assert "STLS" in log
    bodies = {strip_received(b).replace(b"\r\n", b"\n") for b in received(maildir)}
    assert bodies == {MESSAGE_1.replace(b"\r\n", b"\n"), MESSAGE_2.replace(b"\r\n", b"\n")}
    assert await env.inbox_uids() == []  # nokeep: deleted at QUIT


@needs_fetchmail
async def test_fetchmail_pop3s_keep_then_only_new_mail(env: POP3Env, tmp_path: Path) -> None:
    maildir = tmp_path / "fetched"
    maildir.mkdir()
    rc = fetchmail_rc(tmp_path, env.pop3s_port, maildir, implicit_tls=True, keep=True)
    rc.write_text(rc.read_text().replace(" fetchall", ""))  # UIDL decides what is new
    code, log = await fetchmail(tmp_path, rc)
    assert code == 0, log
    assert len(received(maildir)) == 2
    await env.deliver(b"Subject: third\r\n\r\nnew one\r\n")
    code, log = await fetchmail(tmp_path, rc)
    assert code == 0, log
    assert len(received(maildir)) == 3
    assert len(await env.inbox_uids()) == 3  # keep: nothing deleted


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory `nobody` owns, outside root's private pytest tmp tree."""
    path = Path(tempfile.mkdtemp(prefix="tidings-getmail-"))
    user = pwd.getpwnam("nobody")
    path.chmod(0o700)
    os.chown(path, user.pw_uid, user.pw_gid)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def getmail_rc(base: Path, env: POP3Env, *, delete: bool) -> Path:
    user = pwd.getpwnam("nobody")
    maildir = base / "Maildir"
    for sub in ("", "cur", "new", "tmp"):
        (maildir / sub).mkdir(exist_ok=True)
        os.chown(maildir / sub, user.pw_uid, user.pw_gid)
    ca_copy = base / "ca.pem"
    shutil.copy(env.ca_pem, ca_copy)
    rc = base / "getmailrc"
    rc.write_text(
        "[retriever]\n"
        "type = SimplePOP3SSLRetriever\n"
        "server = 127.0.0.1\n"
        f"port = {env.pop3s_port}\n"
        f"username = {USER}\n"
        f"password = {PASSWORD}\n"
        f"ca_certs = {ca_copy}\n"
        "\n[destination]\n"
        "type = Maildir\n"
        f"path = {maildir}/\n"
        "\n[options]\n"
        "verbose = 2\n"
        "read_all = false\n"
        f"delete = {'true' if delete else 'false'}\n"
    )
    for path in (rc, ca_copy):
        os.chown(path, user.pw_uid, user.pw_gid)
    return rc


async def getmail(base: Path, rc: Path) -> tuple[int, str]:
    return await run(
        "runuser",
        "-u",
        "nobody",
        "--",
        "getmail",
        "--getmaildir",
        str(base),
        "--rcfile",
        str(rc),
        env={"PATH": os.environ["PATH"], "HOME": str(base)},
    )


def maildir_messages(base: Path) -> list[bytes]:
    new = base / "Maildir" / "new"
    return sorted(path.read_bytes() for path in new.iterdir())


@needs_getmail
async def test_getmail_pop3s_new_mail_only_then_delete(env: POP3Env, nobody_dir: Path) -> None:
    rc = getmail_rc(nobody_dir, env, delete=False)
    code, log = await getmail(nobody_dir, rc)
    assert code == 0, log
    got = maildir_messages(nobody_dir)
    assert len(got) == 2
    assert any(m.endswith(MESSAGE_2.replace(b"\r\n", b"\n")) for m in got), got
    code, log = await getmail(nobody_dir, rc)  # UIDL unchanged: nothing new
    assert code == 0, log
    assert len(maildir_messages(nobody_dir)) == 2
    await env.deliver(b"Subject: third\r\n\r\nnew one\r\n")
    rc = getmail_rc(nobody_dir, env, delete=True)
    code, log = await getmail(nobody_dir, rc)
    assert code == 0, log
    assert len(maildir_messages(nobody_dir)) == 3
    assert await env.inbox_uids() == []  # delete = true removes what was retrieved
