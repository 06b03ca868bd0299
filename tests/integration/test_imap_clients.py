"""Real IMAP clients against the server: imap-tools (PyPI) and Debian's mbsync (isync),
two-way sync of several folders with flags, changes on both sides, then a second sync."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from imap_tools import AND, MailBox, MailMessageFlags

from tests.integration.test_imap_support import (
    ALICE,
    PASSWORD,
    IMAPEnv,
    ca,
    in_thread,
    message,
    start_env,
)
from tidings.model.ids import AccountId
from tidings.model.mail import SEEN, FlagOperation

__all__ = ["ca"]


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[IMAPEnv]:
    async for value in start_env(tmp_path, ca):
        yield value


async def test_imap_tools_round_trip(env: IMAPEnv) -> None:
    await env.deliver(message("tools one", "first body\r\n"))
    await env.deliver(message("tools two", "second body\r\n"))

    def client() -> dict[str, object]:
        out: dict[str, object] = {}
        with MailBox("127.0.0.1", env.imaps_port, ssl_context=env.client_tls).login(
                ALICE, PASSWORD, initial_folder="INBOX") as box:
            out["folders"] = sorted(f.name for f in box.folder.list())
            box.folder.create("Clients/Tools")
            out["subjects"] = [m.subject for m in box.fetch(mark_seen=False)]
            out["texts"] = [m.text for m in box.fetch(AND(subject="two"), mark_seen=False)]
            uids = [m.uid for m in box.fetch(AND(subject="tools one"), mark_seen=False)]
            box.flag(uids, MailMessageFlags.FLAGGED, True)
            out["flagged"] = [m.subject for m in box.fetch(AND(flagged=True), mark_seen=False)]
            box.copy(uids, "Clients/Tools")
            box.move(uids, "Archive")
            box.append(message("appended"), "Clients/Tools", flag_set=[MailMessageFlags.SEEN])
            box.folder.set("Clients/Tools")
            out["tools"] = sorted(m.subject for m in box.fetch(mark_seen=False))
            out["status"] = box.folder.status("Archive")
            box.folder.set("INBOX")
            box.delete([m.uid for m in box.fetch(mark_seen=False)])
            out["left"] = len(list(box.fetch()))
        return out

    out = await in_thread(client)
    assert {"INBOX", "Archive", "Drafts", "Sent", "Junk", "Trash"} <= set(out["folders"])  # type: ignore[arg-type]
    assert out["subjects"] == ["tools one", "tools two"]
    assert out["texts"] == ["second body\r\n"]
    assert out["flagged"] == ["tools one"]
    assert out["tools"] == ["appended", "tools one"]
    assert out["status"]["MESSAGES"] == 1  # type: ignore[index]
    assert out["left"] == 0


async def test_imap_tools_idle_sees_a_delivery(env: IMAPEnv) -> None:
    def client() -> list[tuple[bytes, ...]]:
        with MailBox("127.0.0.1", env.imaps_port, ssl_context=env.client_tls).login(
                ALICE, PASSWORD) as box:
            box.idle.start()
            try:
                return box.idle.poll(timeout=5)  # type: ignore[no-any-return]
            finally:
                box.idle.stop()

    import asyncio

    task = asyncio.create_task(in_thread(client))
    await asyncio.sleep(0.5)
    await env.deliver(message("idle news"))
    responses = await task
    assert any(b"EXISTS" in r for r in responses)


def _maildir_messages(root: Path, folder: str) -> dict[str, str]:
    """Subject -> maildir flags of every message in a local folder."""
    out = {}
    for sub in ("cur", "new"):
        directory = root / folder / sub
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            subject = next((line[9:].strip() for line in path.read_text().splitlines()
                            if line.startswith("Subject: ")), "")
            out[subject] = path.name.split(":2,")[-1] if ":2," in path.name else ""
    return out


def _mbsync_config(env: IMAPEnv, maildir: Path) -> Path:
    config = env.tmp / "mbsyncrc"
    config.write_text(f"""IMAPAccount tidings
Host localhost
Port {env.imaps_port}
User {ALICE}
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {env.ca_pem}

IMAPStore remote
Account tidings

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
Sync All
SyncState *
""")
    return config


def _run_mbsync(config: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["mbsync", "-c", str(config), "-a"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "HOME": str(config.parent)})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.needs_program("mbsync", package="isync")
async def test_mbsync_two_way_sync_of_several_folders(env: IMAPEnv) -> None:
    alice = env.users[ALICE]
    account = AccountId(alice.id)
    mail = env.store.mail
    await env.deliver(message("inbox one"))
    await env.deliver(message("inbox two"))
    await env.deliver(message("archived"), mailbox="Archive")
    projects = await mail.create_mailbox(alice, account, "Projects/2026")
    inbox = await mail.find_mailbox(alice, account, "INBOX")
    first_uid = (await mail.messages(alice, inbox.id))[0].uid
    await mail.store_flags(alice, inbox.id, [first_uid], FlagOperation.ADD, frozenset({SEEN}))
    await env.deliver(message("project plan"), mailbox=projects.name)
    maildir = env.tmp / "Mail"
    maildir.mkdir()
    config = _mbsync_config(env, maildir)

    await in_thread(lambda: _run_mbsync(config))
    assert _maildir_messages(maildir, "INBOX") == {"inbox one": "S", "inbox two": ""}
    assert set(_maildir_messages(maildir, "Archive")) == {"archived"}
    assert set(_maildir_messages(maildir, "Projects/2026")) == {"project plan"}

    # Changes on both sides: locally flag one, delete one, add one; remotely deliver one
    # and mark one read.
    cur = maildir / "INBOX" / "cur"
    for path in list(cur.iterdir()) + list((maildir / "INBOX" / "new").iterdir()):
        text = path.read_text()
        if "inbox one" in text:
            path.rename(cur / (path.name.split(":2,")[0] + ":2,FS"))
        elif "inbox two" in text:
            path.unlink()
    (maildir / "Archive" / "new" / "1700000000.local.host").write_bytes(message("made here"))
    await env.deliver(message("arrived later"))
    archive = await mail.find_mailbox(alice, account, "Archive")
    archived_uid = (await mail.messages(alice, archive.id))[0].uid
    await mail.store_flags(alice, archive.id, [archived_uid], FlagOperation.ADD,
                           frozenset({SEEN}))

    await in_thread(lambda: _run_mbsync(config))
    remote_inbox = {m.uid: m.flags for m in await mail.messages(alice, inbox.id)}
    assert len(remote_inbox) == 2  # "inbox two" expunged, "arrived later" kept
    assert remote_inbox[first_uid] == frozenset({SEEN, "\\Flagged"})
    remote_archive = await mail.messages(alice, archive.id)
    assert len(remote_archive) == 2  # "made here" uploaded
    local = _maildir_messages(maildir, "INBOX")
    assert local == {"inbox one": "FS", "arrived later": ""}
    assert _maildir_messages(maildir, "Archive") == {"archived": "S", "made here": ""}
    # A third run with nothing changed moves nothing.
    await in_thread(lambda: _run_mbsync(config))
    assert _maildir_messages(maildir, "INBOX") == local


def _offlineimap_config(env: IMAPEnv, maildir: Path) -> Path:
    config = env.tmp / "offlineimaprc"
    config.write_text(f"""[general]
accounts = tidings
metadata = {env.tmp}/offlineimap-meta

[Account tidings]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {maildir}

[Repository remote]
type = IMAP
remotehost = localhost
remoteport = {env.imaps_port}
ssl = yes
sslcacertfile = {env.ca_pem}
remoteuser = {ALICE}
remotepass = {PASSWORD}
""")
    return config


def _run_offlineimap(config: Path) -> None:
    result = subprocess.run(["offlineimap", "-c", str(config), "-o", "-u", "basic"],
                            capture_output=True, text=True, timeout=90,
                            env={**os.environ, "HOME": str(config.parent)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.needs_program("offlineimap", package="offlineimap3")
async def test_offlineimap_syncs_folders_and_flags(env: IMAPEnv) -> None:
    alice = env.users[ALICE]
    account = AccountId(alice.id)
    mail = env.store.mail
    await env.deliver(message("oi one"))
    await env.deliver(message("oi archived"), mailbox="Archive")
    maildir = env.tmp / "OfflineMail"
    config = _offlineimap_config(env, maildir)
    await in_thread(lambda: _run_offlineimap(config))
    assert set(_maildir_messages(maildir, "INBOX")) == {"oi one"}
    assert set(_maildir_messages(maildir, "Archive")) == {"oi archived"}
    # Flag locally, deliver remotely, sync again.
    for sub in ("cur", "new"):
        for path in (maildir / "INBOX" / sub).iterdir():
            path.rename(maildir / "INBOX" / "cur" / (path.name.split(":2,")[0] + ":2,FS"))
    await env.deliver(message("oi later"))
    await in_thread(lambda: _run_offlineimap(config))
    inbox = await mail.find_mailbox(alice, account, "INBOX")
    flags = {m.uid: m.flags for m in await mail.messages(alice, inbox.id)}
    assert flags[min(flags)] == frozenset({SEEN, "\\Flagged"})
    assert set(_maildir_messages(maildir, "INBOX")) == {"oi one", "oi later"}


def _run_neomutt(env: IMAPEnv, commands: str) -> None:
    """neomutt needs a terminal: run it under script(1) with a push macro that quits."""
    rc = env.tmp / "neomuttrc"
    rc.write_text(f"""set folder="imaps://{ALICE.replace('@', '%40')}@localhost:{env.imaps_port}/"
set imap_pass="{PASSWORD}"
set spoolfile="+INBOX"
set certificate_file="{env.ca_pem}"
set ssl_force_tls=yes
set header_cache=""
set message_cachedir=""
set mark_old=no
set quit=yes
set confirmappend=no
set delete=yes
set record=""
set imap_check_subscribed=no
push "{commands}<sync-mailbox><quit>"
""")
    result = subprocess.run(["script", "-qfec", f"neomutt -n -F {rc}", "/dev/null"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HOME": str(env.tmp), "TERM": "xterm"})
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.needs_program("neomutt", "script", package="neomutt, bsdutils")
async def test_neomutt_flags_and_deletes_over_imap(env: IMAPEnv) -> None:
    alice = env.users[ALICE]
    mail = env.store.mail
    await env.deliver(message("mutt keep"))
    await env.deliver(message("mutt drop"))
    inbox = await mail.find_mailbox(alice, AccountId(alice.id), "INBOX")
    # Flag the first message (important) and delete the second, then sync and quit.
    await in_thread(lambda: _run_neomutt(env, "<first-entry><flag-message>"
                                              "<last-entry><delete-message>"))
    remaining = await mail.messages(alice, inbox.id)
    assert len(remaining) == 1
    assert "\\Flagged" in remaining[0].flags
    assert b"Subject: mutt keep" in await mail.read_blob(alice, remaining[0].blob_id)
