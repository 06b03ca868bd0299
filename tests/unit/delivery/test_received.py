"""The Received: trace field (RFC 5321 §4.4, RFC 3848)."""

from __future__ import annotations

from datetime import UTC, datetime

from tidings.delivery.received import ReceivedInfo, received_header

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_received_field_has_from_by_with_id_for_and_date() -> None:
    field = received_header(
        ReceivedInfo("client.example", "192.0.2.7", "ESMTPSA"),
        hostname="mx.example.test", queue_id="ABC", recipient="bob@example.test", now=NOW,
    )
    assert field == (
        b"Received: from client.example ([192.0.2.7])\r\n"
        b"\tby mx.example.test (Tidings) with ESMTPSA id ABC\r\n"
        b"\tfor <bob@example.test>;\r\n"
        b"\tFri, 02 Jan 2026 03:04:05 +0000\r\n"
    )


def test_no_for_clause_with_several_recipients_and_hostile_ehlo_is_defused() -> None:
    field = received_header(
        ReceivedInfo("evil) by fake (x; ", "192.0.2.7", "ESMTP", reverse_name="host.example"),
        hostname="mx.example.test", queue_id="ABC", recipient=None, now=NOW,
    )
    first = field.split(b"\r\n")[0]
    assert first == b"Received: from evil??by?fake??x?? (host.example [192.0.2.7])"
    assert b"for <" not in field
