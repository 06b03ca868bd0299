"""Sharing over IMAP: ACL commands (RFC 4314), other users' and shared namespaces
(RFC 2342), per-user \\Seen in a shared mailbox, and QUOTA (RFC 9208)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.test_imap_support import (
    ALICE,
    BOB,
    SHARED_BOX,
    IMAPEnv,
    RawClient,
    ca,
    joined,
    message,
    start_env,
)
from tidings.model.acl import parse_rights
from tidings.model.ids import AccountId

__all__ = ["ca"]


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[IMAPEnv]:
    async for value in start_env(tmp_path, ca):
        yield value


async def test_alice_shares_a_folder_with_bob(env: IMAPEnv) -> None:
    await env.deliver(message("shared news"), mailbox="Archive")
    alice = await RawClient.open(env, ALICE)
    bob = await RawClient.open(env, BOB)
    denied = joined(await bob.command(f'SELECT "Other Users/{ALICE}/Archive"'))
    assert b"NO" in denied.splitlines()[-1]
    await alice.ok(f"SETACL Archive {BOB} lrs")
    acl = joined(await alice.ok("GETACL Archive"))
    assert f"{BOB} lrs".encode() in acl and ALICE.encode() in acl
    listing = joined(await bob.ok('LIST "" "Other Users/*"'))
    assert f'"/" "Other Users/{ALICE}/Archive"'.encode() in listing
    assert f'(\\Noselect \\HasChildren) "/" "Other Users/{ALICE}"'.encode() in listing
    rights = joined(await bob.ok(f'MYRIGHTS "Other Users/{ALICE}/Archive"'))
    assert f'MYRIGHTS "Other Users/{ALICE}/Archive" lrs'.encode() in rights
    selected = joined(await bob.ok(f'SELECT "Other Users/{ALICE}/Archive"'))
    assert b"[READ-ONLY]" in selected or b"[READ-WRITE]" in selected
    body = joined(await bob.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert b"Subject: shared news" in body
    # Bob may not change what he was not given: no "w" or "t" right.
    # RFC 4314 §4: without "w" a change to other flags is ignored, not refused.
    ignored = joined(await bob.ok("STORE 1 +FLAGS (\\Flagged)"))
    assert b"\\Flagged" not in ignored
    await alice.ok(f"DELETEACL Archive {BOB}")
    assert f"{BOB}".encode() not in joined(await alice.ok("GETACL Archive"))
    relisted = joined(await bob.ok('LIST "" "Other Users/*"'))
    assert b"Archive" not in relisted
    await alice.close()
    await bob.close()


async def test_setacl_with_plus_and_minus_and_listrights(env: IMAPEnv) -> None:
    alice = await RawClient.open(env, ALICE)
    await alice.ok(f"SETACL Drafts {BOB} +lr")
    await alice.ok(f"SETACL Drafts {BOB} +w")
    await alice.ok(f"SETACL Drafts {BOB} -r")
    acl = joined(await alice.ok("GETACL Drafts"))
    assert f"{BOB} lw".encode() in acl
    listed = joined(await alice.ok(f"LISTRIGHTS Drafts {BOB}"))
    assert f'LISTRIGHTS Drafts {BOB} "" l r s w i p k x t e a'.encode() in listed
    bad = joined(await alice.command(f"SETACL Drafts {BOB} lz"))
    assert b" BAD " in bad.splitlines()[-1]
    await alice.close()


async def test_shared_mailbox_keeps_seen_per_user(env: IMAPEnv) -> None:
    shared = env.users[SHARED_BOX]
    inbox = await env.store.mail.find_mailbox(shared, AccountId(shared.id), "INBOX")
    for who in (ALICE, BOB):
        await env.store.mail.set_acl(shared, inbox.id, who, parse_rights("lrswit"))
    await env.deliver(message("ticket 1"), to=SHARED_BOX)
    name = f'"Shared/{SHARED_BOX}/INBOX"'
    alice = await RawClient.open(env, ALICE)
    bob = await RawClient.open(env, BOB)
    listing = joined(await alice.ok('LIST "" "Shared/*"'))
    assert f'(\\HasNoChildren) "/" Shared/{SHARED_BOX}/INBOX'.encode() in listing
    await alice.ok(f"SELECT {name}")
    await alice.ok("FETCH 1 (BODY[])")  # sets \Seen for Alice only
    assert b"\\Seen" in joined(await alice.ok("FETCH 1 (FLAGS)"))
    await bob.ok(f"SELECT {name}")
    assert b"\\Seen" not in joined(await bob.ok("FETCH 1 (FLAGS)"))
    status = joined(await bob.ok(f"STATUS {name} (UNSEEN MESSAGES)"))
    assert b"UNSEEN 1" in status and b"MESSAGES 1" in status
    await alice.close()
    await bob.close()


async def test_quota_root_and_namespace(env: IMAPEnv) -> None:
    await env.store.directory.update_principal(env.users[ALICE].id, quota_bytes=1024 * 1024)
    await env.deliver(message("sized", "x" * 4000 + "\r\n"))
    alice = await RawClient.open(env, ALICE)
    root = joined(await alice.ok("GETQUOTAROOT INBOX"))
    assert b'* QUOTAROOT INBOX ""' in root
    assert b'* QUOTA "" (STORAGE 4 1024)' in root or b'* QUOTA "" (STORAGE 5 1024)' in root
    assert b"STORAGE" in joined(await alice.ok('GETQUOTA ""'))
    assert b"NOPERM" in joined(await alice.command('SETQUOTA "" (STORAGE 10)'))
    await alice.close()
