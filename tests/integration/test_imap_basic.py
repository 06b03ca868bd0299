"""IMAP against a real server and store, driven by Python's imaplib (RFC 9051)."""

from __future__ import annotations

import imaplib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.test_imap_support import (
    ALICE,
    PASSWORD,
    IMAPEnv,
    ca,
    in_thread,
    message,
    start_env,
)

__all__ = ["ca"]


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[IMAPEnv]:
    async for value in start_env(tmp_path, ca):
        yield value


async def test_login_before_starttls_is_refused_and_works_after(env: IMAPEnv) -> None:
    def client() -> tuple[list[bytes], str]:
        imap = imaplib.IMAP4("127.0.0.1", env.imap_port, timeout=10)
        caps = list(imap.capabilities)
        try:
            imap.login(ALICE, PASSWORD)
        except imaplib.IMAP4.error as exc:
            refused = str(exc)
        else:
            refused = ""
        imap.starttls(env.client_tls)
        imap.login(ALICE, PASSWORD)
        imap.logout()
        return caps, refused

    caps, refused = await in_thread(client)
    assert "STARTTLS" in caps and "LOGINDISABLED" in caps
    assert "PRIVACYREQUIRED" in refused or "STARTTLS" in refused


async def test_wrong_password_is_refused(env: IMAPEnv) -> None:
    def client() -> str:
        imap = imaplib.IMAP4_SSL("127.0.0.1", env.imaps_port, ssl_context=env.client_tls)
        try:
            imap.login(ALICE, "wrong")
        except imaplib.IMAP4.error as exc:
            return str(exc)
        finally:
            imap.shutdown()
        return ""

    assert "AUTHENTICATIONFAILED" in await in_thread(client)


async def test_select_fetch_store_search_and_expunge(env: IMAPEnv) -> None:
    await env.deliver(message("first", "one\r\n"))
    await env.deliver(message("second", "two\r\n"))

    def client() -> dict[str, object]:
        imap = env.connect(implicit=True)
        out: dict[str, object] = {}
        typ, data = imap.select("INBOX")
        out["select"] = (typ, data)
        out["untagged"] = dict(imap.untagged_responses)
        out["fetch"] = imap.fetch(
            "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (Subject)])")
        out["store"] = imap.store("1", "+FLAGS", "(\\Deleted \\Flagged)")
        out["search"] = imap.search(None, "DELETED")
        out["search_text"] = imap.search(None, "SUBJECT", "second")
        out["expunge"] = imap.expunge()
        out["after"] = imap.fetch("1:*", "(FLAGS)")
        imap.logout()
        return out

    out = await in_thread(client)
    assert out["select"] == ("OK", [b"2"])
    typ, fetched = out["fetch"]  # type: ignore[misc]
    assert typ == "OK"
    bodies = [part[1] for part in fetched if isinstance(part, tuple)]
    assert b"Subject: first" in bodies[0] and b"Subject: second" in bodies[1]
    assert out["search"] == ("OK", [b"1"])
    assert out["search_text"] == ("OK", [b"2"])
    assert out["expunge"] == ("OK", [b"1"])
    typ, after = out["after"]  # type: ignore[misc]
    assert len(after) == 1 and after[0].startswith(b"1 (FLAGS ")


async def test_append_copy_move_with_uidplus(env: IMAPEnv) -> None:
    def client() -> dict[str, object]:
        imap = env.connect()
        out: dict[str, object] = {}
        out["append"] = imap.append("Drafts", "(\\Draft $Label)", None,
                                    message("draft", "body\r\n"))
        imap.select("Drafts")
        out["copy"] = imap.uid("COPY", "1", "Archive")
        out["copyuid"] = imap.response("COPYUID")
        out["move"] = imap.uid("MOVE", "1", "Trash")
        out["drafts"] = imap.status("Drafts", "(MESSAGES UIDNEXT)")
        out["trash"] = imap.status("Trash", "(MESSAGES)")
        out["archive"] = imap.status("Archive", "(MESSAGES SIZE)")
        out["trycreate"] = imap.append("Nope", None, None, b"x\r\n\r\n")
        imap.logout()
        return out

    out = await in_thread(client)
    typ, data = out["append"]  # type: ignore[misc]
    assert typ == "OK" and re.search(rb"APPENDUID \d+ 1", data[0])
    assert out["copy"][0] == "OK"  # type: ignore[index]
    _name, data = out["copyuid"]  # type: ignore[misc]
    assert re.fullmatch(rb"\d+ 1 1", data[0])
    assert out["move"][0] == "OK"  # type: ignore[index]
    assert b"MESSAGES 0" in out["drafts"][1][0]  # type: ignore[index]
    assert b"MESSAGES 1" in out["trash"][1][0]  # type: ignore[index]
    assert b"MESSAGES 1" in out["archive"][1][0]  # type: ignore[index]
    typ, data = out["trycreate"]  # type: ignore[misc]
    assert typ == "NO" and b"TRYCREATE" in data[0]


async def test_mailbox_management_and_list(env: IMAPEnv) -> None:
    def client() -> dict[str, object]:
        imap = env.connect()
        out: dict[str, object] = {}
        out["create"] = imap.create("Projects/2026")
        out["create_use"] = imap._simple_command("CREATE", "Receipts", "(USE (\\Flagged))")
        out["create_taken"] = imap._simple_command("CREATE", "Old", "(USE (\\Archive))")
        out["rename"] = imap.rename("Projects/2026", "Projects/Done")
        out["unsubscribe"] = imap.unsubscribe("Projects/Done")
        out["list"] = imap.list()
        out["lsub"] = imap.lsub()
        out["delete"] = imap.delete("Projects/Done")
        out["list_after"] = imap.list('""', "Projects*")
        out["namespace"] = imap.namespace()
        out["utf7"] = imap.create("&AMk-t&AOk-")
        out["list_utf7"] = imap.list('""', "&AMk-*")
        imap.logout()
        return out

    out = await in_thread(client)
    assert out["create"][0] == "OK" and out["rename"][0] == "OK"  # type: ignore[index]
    listing = b"\n".join(out["list"][1])  # type: ignore[index]
    assert b'(\\HasNoChildren \\Sent) "/" Sent' in listing
    assert b'"/" Projects/Done' in listing and b"(\\HasChildren) \"/\" Projects" in listing
    assert out["create_use"][0] == "OK", out["create_use"]  # type: ignore[index]
    assert b'(\\HasNoChildren \\Flagged) "/" Receipts' in listing
    assert b"USEATTR" in out["create_taken"][1][0]  # type: ignore[index]
    assert b"Projects/Done" not in b"\n".join(out["lsub"][1])  # type: ignore[index]
    assert out["delete"][0] == "OK"  # type: ignore[index]
    assert b"Projects/Done" not in b"\n".join(out["list_after"][1])  # type: ignore[index]
    assert out["namespace"][1][0] == (  # type: ignore[index]
        b'(("" "/")) (("Other Users/" "/")) (("Shared/" "/"))')
    assert b"&AMk-t&AOk-" in out["list_utf7"][1][0]  # type: ignore[index]
