from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import Message

from tidings.delivery.outbound.dsn import (
    MAX_FULL_RETURN_BYTES,
    DSNAction,
    DSNRequest,
    RecipientReport,
    build_dsn,
    header_section,
)

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
ORIGINAL = (
    b"From: Alice <alice@local.test>\r\nTo: bob@remote.test\r\nSubject: Hello\r\n"
    b"Message-ID: <orig@local.test>\r\n\r\nThe body line\r\n"
)


def _request(*reports: RecipientReport, ret: str | None = None,
             original: bytes = ORIGINAL) -> DSNRequest:
    return DSNRequest(
        reporting_mta="mail.local.test",
        sender="alice@local.test",
        recipients=reports,
        original=original,
        arrival_date=T0,
        now=T0 + timedelta(minutes=1),
        message_id="<dsn.1@mail.local.test>",
        envid="ENV 42",
        ret=ret,
    )


def _failed(address: str = "bob@remote.test") -> RecipientReport:
    return RecipientReport(
        address=address, action=DSNAction.FAILED, status="5.1.1",
        diagnostic="550 5.1.1 No such user here", remote_mta="mx.remote.test",
        original_recipient="rfc822;bob@remote.test", last_attempt=T0,
    )


def _parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def parts(msg: Message) -> list[Message]:
    """The sub-parts of a multipart or message/* part."""
    payload = msg.get_payload()
    assert isinstance(payload, list)
    return [part for part in payload if isinstance(part, Message)]


def text(msg: Message) -> str:
    payload = msg.get_payload()
    assert isinstance(payload, str)
    return payload


def _status_blocks(report: Message) -> list[Message]:
    """The message/delivery-status part's header blocks (per-message, then recipients)."""
    status = parts(report)[1]
    assert status.get_content_type() == "message/delivery-status"
    return parts(status)


def test_bounce_is_a_multipart_report_of_delivery_status() -> None:
    report = _parse(build_dsn(_request(_failed())))
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    assert [p.get_content_type() for p in parts(report)] == [
        "text/plain", "message/delivery-status", "message/rfc822"]
    assert report["To"] == "<alice@local.test>"
    assert report["From"].startswith("Mail Delivery System <MAILER-DAEMON@mail.local.test>")
    assert report["Auto-Submitted"] == "auto-replied"
    assert "Undelivered" in report["Subject"]


def test_per_message_and_per_recipient_fields() -> None:
    report = _parse(build_dsn(_request(_failed(), _failed("carol@remote.test"))))
    per_message, first, second = _status_blocks(report)
    assert per_message["Reporting-MTA"] == "dns; mail.local.test"
    assert per_message["Original-Envelope-Id"] == "ENV 42"
    assert per_message["Arrival-Date"] == "Mon, 06 Jan 2025 12:00:00 +0000"
    assert first["Final-Recipient"] == "rfc822; bob@remote.test"
    assert first["Original-Recipient"] == "rfc822;bob@remote.test"
    assert first["Action"] == "failed"
    assert first["Status"] == "5.1.1"
    assert first["Remote-MTA"] == "dns; mx.remote.test"
    assert first["Diagnostic-Code"] == "smtp; 550 5.1.1 No such user here"
    assert second["Final-Recipient"] == "rfc822; carol@remote.test"


def test_failure_returns_the_full_original_by_default() -> None:
    report = _parse(build_dsn(_request(_failed())))
    returned = parts(report)[2]
    inner = parts(returned)[0]
    assert inner["Message-ID"] == "<orig@local.test>"
    assert text(inner).strip() == "The body line"


def test_ret_hdrs_returns_only_the_header() -> None:
    raw = build_dsn(_request(_failed(), ret="HDRS"))
    returned = parts(_parse(raw))[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert "Subject: Hello" in text(returned)
    assert b"The body line" not in raw


def test_large_original_without_ret_returns_only_the_header() -> None:
    big = ORIGINAL + b"x" * (MAX_FULL_RETURN_BYTES + 10) + b"\r\n"
    returned = parts(_parse(build_dsn(_request(_failed(), original=big))))[2]
    assert returned.get_content_type() == "text/rfc822-headers"


def test_delay_notice_says_delayed_and_will_retry_until() -> None:
    delayed = RecipientReport(
        address="bob@remote.test", action=DSNAction.DELAYED, status="4.4.1",
        diagnostic="451 4.4.1 cannot reach remote.test", last_attempt=T0,
        will_retry_until=T0 + timedelta(days=5),
    )
    report = _parse(build_dsn(_request(delayed, ret="FULL")))
    assert "Delay" in report["Subject"]
    _, recipient = _status_blocks(report)
    assert recipient["Action"] == "delayed"
    assert recipient["Status"] == "4.4.1"
    assert recipient["Will-Retry-Until"] == "Sat, 11 Jan 2025 12:00:00 +0000"
    assert "will retry until" in text(parts(report)[0])


def test_diagnostic_with_line_breaks_stays_one_field_line() -> None:
    bad = RecipientReport(address="bob@remote.test", action=DSNAction.FAILED, status="5.0.0",
                          diagnostic="550 first\r\nInjected: header")
    raw = build_dsn(_request(bad))
    assert b"\r\nInjected:" not in raw
    _, recipient = _status_blocks(_parse(raw))
    assert recipient["Diagnostic-Code"] == "smtp; 550 first Injected: header"


def test_eight_bit_original_is_marked_8bit() -> None:
    original = "Subject: café\r\n\r\nDéjà vu\r\n".encode()
    raw = build_dsn(_request(_failed(), original=original))
    returned = parts(_parse(raw))[2]
    assert returned["Content-Transfer-Encoding"] == "8bit"


def test_header_section_ends_at_the_empty_line() -> None:
    assert header_section(ORIGINAL).endswith(b"\r\n\r\n")
    assert b"body" not in header_section(ORIGINAL)
    assert header_section(b"A: b\n\nbody") == b"A: b\n\n"
