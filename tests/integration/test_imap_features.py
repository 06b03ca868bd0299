"""The IMAP extensions end to end over the wire: SASL, ENABLE IMAP4rev2, ESEARCH,
SEARCHRES, SORT, THREAD, BINARY, LIST-EXTENDED/STATUS, COMPRESS, MULTIAPPEND, LITERAL+."""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.test_imap_support import (
    ALICE,
    PASSWORD,
    IMAPEnv,
    RawClient,
    ca,
    joined,
    message,
    start_env,
)
from tests.unit.pop3.helpers import ScramClient

__all__ = ["ca"]

MULTIPART = (
    b"From: Dave <dave@example.test>\r\nTo: alice@example.test\r\n"
    b"Subject: =?utf-8?q?r=C3=A9sum=C3=A9?=\r\n"
    b"Date: Tue, 3 Mar 2026 09:00:00 +0100\r\nMessage-ID: <mp@example.test>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment, zebra.\r\n"
    b"--XX\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\n"
    + base64.b64encode(b"\x00\x01binary\x02") + b"\r\n--XX--\r\n"
)


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[IMAPEnv]:
    async for value in start_env(tmp_path, ca):
        yield value


async def test_authenticate_plain_with_initial_response(env: IMAPEnv) -> None:
    client = await RawClient.open(env, user=None)
    token = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    lines = await client.ok(f"AUTHENTICATE PLAIN {token}")
    assert b"[CAPABILITY " in lines[-1]
    await client.close()


async def test_authenticate_plain_without_initial_response_and_cancel(env: IMAPEnv) -> None:
    client = await RawClient.open(env, user=None)
    await client.send(b"a AUTHENTICATE PLAIN\r\n")
    assert await client.read_response_line() == b"+ \r\n"
    await client.send(b"*\r\n")
    assert (await client.until_tagged("a"))[-1].startswith(b"a BAD")
    await client.send(b"b AUTHENTICATE PLAIN\r\n")
    await client.read_response_line()
    await client.send(base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()) + b"\r\n")
    assert (await client.until_tagged("b"))[-1].startswith(b"b OK")
    await client.close()


async def test_authenticate_scram_sha_256(env: IMAPEnv) -> None:
    client = await RawClient.open(env, user=None)
    scram = ScramClient(ALICE, PASSWORD)
    await client.send(b"s AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(scram.first())
                      + b"\r\n")
    challenge = await client.read_response_line()
    server_first = base64.b64decode(challenge[2:].strip())
    await client.send(base64.b64encode(scram.final(server_first)) + b"\r\n")
    final = await client.read_response_line()
    verifier = base64.b64decode(final[2:].strip())
    assert verifier == b"v=" + base64.b64encode(scram.server_signature)
    await client.send(b"\r\n")
    assert (await client.until_tagged("s"))[-1].startswith(b"s OK")
    await client.close()


async def test_enable_imap4rev2_changes_responses(env: IMAPEnv) -> None:
    await env.deliver(message("hello rev2"))
    client = await RawClient.open(env)
    enabled = joined(await client.ok("ENABLE IMAP4rev2 CONDSTORE"))
    assert b"* ENABLED IMAP4rev2 CONDSTORE" in enabled
    selected = joined(await client.ok("SELECT INBOX"))
    assert b"RECENT" not in selected
    search = joined(await client.ok("SEARCH ALL"))
    assert b'* ESEARCH (TAG "t4") ALL 1' in search
    ident = joined(await client.ok('ID ("name" "test")'))
    assert b'* ID ("name" "Tidings"' in ident
    await client.close()


async def test_search_keys_esearch_and_searchres(env: IMAPEnv) -> None:
    await env.deliver(message("apples", "red fruit\r\n"))
    await env.deliver(MULTIPART)
    await env.deliver(message("pears", "green fruit " + "x" * 3000 + "\r\n",
                              sender="eve@example.test"))
    client = await RawClient.open(env)
    await client.ok("SELECT INBOX")
    checks = {
        "SEARCH FROM eve": b"* SEARCH 3",
        "SEARCH OR SUBJECT apples FROM dave": b"* SEARCH 1 2",
        "SEARCH NOT SUBJECT apples": b"* SEARCH 2 3",
        "SEARCH LARGER 2000": b"* SEARCH 3",
        "SEARCH BODY zebra": b"* SEARCH 2",
        "SEARCH TEXT fruit": b"* SEARCH 1 3",
        "SEARCH SENTSINCE 3-Mar-2026": b"* SEARCH 2",
        "SEARCH HEADER Message-ID mp@example": b"* SEARCH 2",
        "SEARCH CHARSET UTF-8 SUBJECT r\xc3\xa9sum\xc3\xa9".encode("latin-1").decode(): b"",
        "UID SEARCH UID 2:*": b"* SEARCH 2 3",
        "SEARCH YOUNGER 3600": b"* SEARCH 1 2 3",
        "SEARCH UNSEEN UNDELETED 1:2": b"* SEARCH 1 2",
    }
    for command, expected in checks.items():
        if expected:
            assert expected + b"\r\n" in joined(await client.ok(command)), command
    esearch = joined(await client.ok("SEARCH RETURN (MIN MAX COUNT) TEXT fruit"))
    assert re.search(rb'\* ESEARCH \(TAG "t\d+"\) MIN 1 MAX 3 COUNT 2', esearch)
    await client.ok("SEARCH RETURN (SAVE) FROM carol")
    fetched = joined(await client.ok("FETCH $ (UID)"))
    assert b"* 1 FETCH (UID 1)" in fetched and b"* 3 FETCH" in fetched
    assert b"* SEARCH 1 3" in joined(await client.ok("SEARCH $"))
    bad = joined(await client.command("SEARCH CHARSET KOI8-R ALL"))
    assert b"BADCHARSET" in bad
    await client.close()


async def test_sort_and_thread(env: IMAPEnv) -> None:
    await env.deliver(message("b topic", sender="zed@example.test"))
    await env.deliver(message("a topic", sender="amy@example.test"))
    await env.deliver(b"From: amy@example.test\r\nSubject: Re: b topic\r\nMessage-ID: <r1@x>\r\n"
                      b"In-Reply-To: <" + str(abs(hash("b topic"))).encode() +
                      b"@example.test>\r\nDate: Tue, 3 Mar 2026 10:00:00 +0000\r\n\r\nre\r\n")
    client = await RawClient.open(env)
    await client.ok("SELECT INBOX")
    assert b"* SORT 2 1 3\r\n" in joined(await client.ok("SORT (SUBJECT) UTF-8 ALL"))
    # Ties keep sequence order (RFC 5256 §3), even when reversed.
    assert b"* SORT 1 2 3\r\n" in joined(await client.ok("SORT (REVERSE FROM) UTF-8 ALL"))
    ordered = joined(await client.ok("THREAD ORDEREDSUBJECT UTF-8 ALL"))
    assert re.search(rb"\* THREAD \(\d( \d)?\)\(\d( \d)?\)", ordered), ordered
    refs = joined(await client.ok("THREAD REFERENCES UTF-8 ALL"))
    assert b"(1 3)" in refs and b"(2)" in refs
    await client.close()


async def test_fetch_bodystructure_binary_partial_and_ids(env: IMAPEnv) -> None:
    await env.deliver(MULTIPART)
    client = await RawClient.open(env)
    await client.ok("SELECT INBOX")
    structure = joined(await client.ok("FETCH 1 (BODYSTRUCTURE ENVELOPE)"))
    assert b'("TEXT" "PLAIN" ("CHARSET" "utf-8")' in structure
    assert b'"MIXED" ("BOUNDARY" "XX")' in structure
    assert b'"=?utf-8?q?r=C3=A9sum=C3=A9?="' in structure
    binary = joined(await client.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])"))
    assert b"BINARY[2] ~{9}\r\n\x00\x01binary\x02" in binary and b"BINARY.SIZE[2] 9" in binary
    partial = joined(await client.ok("FETCH 1 (BODY.PEEK[1]<4.3>)"))
    assert b'BODY[1]<4> "the"' in partial
    ids = joined(await client.ok("FETCH 1 (EMAILID THREADID SAVEDATE INTERNALDATE MODSEQ)"))
    assert re.search(rb"EMAILID \(M\d+\) THREADID \(T\d+\) SAVEDATE \"\d\d-\w{3}-\d{4}", ids)
    assert b"\\Seen" not in joined(await client.ok("FETCH 1 FLAGS"))
    await client.ok("FETCH 1 BODY[TEXT]")
    assert b"\\Seen" in joined(await client.ok("FETCH 1 FLAGS"))
    await client.close()


async def test_list_extended_status_and_special_use(env: IMAPEnv) -> None:
    await env.deliver(message("count me"))
    client = await RawClient.open(env)
    listed = joined(await client.ok(
        'LIST (SPECIAL-USE) "" "*" RETURN (SUBSCRIBED STATUS (MESSAGES UIDNEXT SIZE))'))
    assert b"INBOX" not in listed and b"\\Sent \\Subscribed" in listed
    both = joined(await client.ok('LIST "" ("INBOX" "Trash") RETURN (STATUS (MESSAGES))'))
    assert b"* STATUS INBOX (MESSAGES 1)" in both and b"* STATUS Trash (MESSAGES 0)" in both
    assert b'* LIST (\\Noselect) "/" ""' in joined(await client.ok('LIST "" ""'))
    status = joined(await client.ok(
        "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ "
        "APPENDLIMIT MAILBOXID)"))
    assert re.search(rb"MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 DELETED 0 SIZE \d+ "
                     rb"HIGHESTMODSEQ \d+ APPENDLIMIT \d+ MAILBOXID \(F\d+\)", status)
    await client.close()


async def test_multiappend_literal_plus_and_binary_literal(env: IMAPEnv) -> None:
    client = await RawClient.open(env)
    one, two = message("m-one"), message("m-two")
    data = (b"APPEND INBOX (\\Seen) {%d+}\r\n" % len(one) + one
            + b" ~{%d+}\r\n" % len(two) + two)
    appended = joined(await client.ok(data))
    assert re.search(rb"\[APPENDUID \d+ 1:2\]", appended)
    await client.send(b"s APPEND INBOX {5}\r\n")
    assert (await client.read_response_line()).startswith(b"+ ")
    await client.send(b"x: y\r\r\n")
    assert (await client.until_tagged("s"))[-1].startswith(b"s OK")
    await client.ok("SELECT INBOX")
    fetched = joined(await client.ok("FETCH 1 FLAGS"))
    assert b"* 1 FETCH (FLAGS (\\Seen \\Recent))" in fetched  # first session to see it
    await client.close()


async def test_bad_syntax_gets_bad_and_the_session_goes_on(env: IMAPEnv) -> None:
    client = await RawClient.open(env)
    assert b"t2 BAD" in joined(await client.command("FETCH"))
    assert b"t3 BAD" in joined(await client.command("FROBNICATE"))
    await client.ok("NOOP")
    assert b"t5 BAD" in joined(await client.command("FETCH 1 FLAGS"))  # nothing selected
    await client.ok("SELECT INBOX")
    assert b"t7 BAD" in joined(await client.command("FETCH 5 FLAGS"))
    await client.ok("UNSELECT")
    await client.close()


async def test_compress_deflate(env: IMAPEnv) -> None:
    client = await RawClient.open(env)
    assert (await client.command("COMPRESS DEFLATE"))[-1].startswith(b"t2 OK")
    deflate = zlib.compressobj(wbits=-15)
    inflate = zlib.decompressobj(wbits=-15)
    await client.send(deflate.compress(b"c1 NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
    received = b""
    while b"c1 OK" not in received:
        received += inflate.decompress(await client.reader.read(4096))
    assert received.startswith(b"c1 OK")
    await client.close()


async def test_utf8_accept_lists_raw_utf8_names(env: IMAPEnv) -> None:
    client = await RawClient.open(env)
    await client.ok("CREATE &AMk-t&AOk-")
    await client.ok("ENABLE UTF8=ACCEPT")
    listed = joined(await client.ok('LIST "" "*"'))
    assert "\u00c9t\u00e9".encode() in listed
    await client.close()


async def test_idle_connection_is_logged_out_after_the_timeout(
        tmp_path: Path, ca: trustme.CA) -> None:
    async for short in start_env(tmp_path, ca, idle_seconds=0.3):
        client = await RawClient.open(short)
        line = await client.read_response_line()
        assert line.startswith(b"* BYE Autologout")
        await client.close()


async def test_commands_pipelined_after_starttls_are_discarded(env: IMAPEnv) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", env.imap_port)
    await reader.readuntil(b"\r\n")
    writer.write(b"a STARTTLS\r\nb LOGIN injected command\r\n")
    await writer.drain()
    assert (await reader.readuntil(b"\r\n")).startswith(b"a OK")
    await writer.start_tls(env.client_tls, server_hostname="localhost")
    writer.write(b"c NOOP\r\n")
    await writer.drain()
    # The injected "b" line never ran: the first answer after TLS is for "c".
    assert (await reader.readuntil(b"\r\n")).startswith(b"c OK")
    writer.close()


async def test_plaintext_login_on_loopback_when_configured(tmp_path: Path, ca: trustme.CA
                                                            ) -> None:
    import functools
    import imaplib

    from tests.integration.test_imap_support import in_thread

    def client(port: int) -> tuple[list[str], str]:
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=10)
        caps = [str(c) for c in imap.capabilities]
        imap.login(ALICE, PASSWORD)
        typ, _data = imap.select("INBOX")
        imap.logout()
        return caps, typ

    async for loose in start_env(tmp_path, ca, plaintext_on_loopback=True):
        caps, selected = await in_thread(functools.partial(client, loose.imap_port))
        assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps
        assert selected == "OK"
