"""Submission sender rules (RFC 6409): own addresses, send-as, send-on-behalf."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.delivery.fakes import FakeDirectory, as_directory
from tidings.delivery.submission import (
    SenderRights,
    check_envelope_sender,
    load_sender_rights,
    prepare_submitted,
)
from tidings.model.directory import Permission, PrincipalKind
from tidings.model.errors import PolicyRejection

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def rights_for_alice() -> SenderRights:
    directory = FakeDirectory()
    alice = directory.add("alice@example.test")
    directory.addresses["ally@example.test"] = alice.id
    support = directory.add("support@example.test", PrincipalKind.SHARED)
    boss = directory.add("boss@example.test")
    directory.grants += [(support.id, alice.id, Permission.SEND_AS),
                         (boss.id, alice.id, Permission.SEND_ON_BEHALF),
                         (boss.id, alice.id, Permission.FULL_ACCESS)]
    return await load_sender_rights(as_directory(directory), alice)


async def test_rights_cover_own_aliases_send_as_and_on_behalf() -> None:
    rights = await rights_for_alice()
    assert rights.own == {"alice@example.test", "ally@example.test"}
    assert rights.send_as == {"support@example.test"}
    assert rights.on_behalf == {"boss@example.test"}
    for sender in ("alice@example.test", "Ally@Example.Test", "support@example.test",
                   "boss@example.test"):
        check_envelope_sender(rights, sender)
    for sender in ("carol@example.test", ""):
        with pytest.raises(PolicyRejection) as refused:
            check_envelope_sender(rights, sender)
        assert refused.value.enhanced_code == "5.7.60"


async def test_missing_message_id_and_date_are_added() -> None:
    rights = await rights_for_alice()
    raw = b"From: alice@example.test\r\nSubject: x\r\n\r\nbody\r\n"
    prepared = prepare_submitted(raw, rights, domain="example.test", now=NOW)
    assert prepared.endswith(raw)
    head = prepared[: -len(raw)]
    assert head.startswith(b"Date: Fri, 02 Jan 2026 03:04:05 +0000\r\nMessage-ID: <")
    assert head.endswith(b"@example.test>\r\n")
    complete = b"Date: x\r\nMessage-ID: <a@b>\r\n" + raw
    assert prepare_submitted(complete, rights, domain="example.test", now=NOW) == complete


async def test_on_behalf_adds_sender_and_foreign_sender_is_refused() -> None:
    rights = await rights_for_alice()
    raw = b"Date: x\r\nMessage-ID: <a@b>\r\nFrom: Boss <boss@example.test>\r\n\r\nhi\r\n"
    prepared = prepare_submitted(raw, rights, domain="example.test", now=NOW)
    assert prepared == b"Sender: alice@example.test\r\n" + raw
    with pytest.raises(PolicyRejection):
        prepare_submitted(b"Sender: carol@example.test\r\n" + raw, rights, domain="e", now=NOW)
    as_is = b"Sender: ally@example.test\r\n" + raw
    assert prepare_submitted(as_is, rights, domain="e", now=NOW) == as_is


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: no from\r\n\r\nx\r\n",
        b"From: a@example.test\r\nFrom: alice@example.test\r\n\r\nx\r\n",
        b"From: alice@example.test, carol@example.test\r\n\r\nx\r\n",
        b"From: undisclosed:;\r\n\r\nx\r\n",
    ],
)
async def test_bad_or_forged_from_is_refused(raw: bytes) -> None:
    rights = await rights_for_alice()
    with pytest.raises(PolicyRejection):
        prepare_submitted(raw, rights, domain="example.test", now=NOW)
