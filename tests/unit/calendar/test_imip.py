"""iMIP messages (RFC 6047): what we mail, and finding the calendar part of mail."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from tests.unit.calendar.test_itip import EVENT
from tidings.calendar.ical import parse_calendar
from tidings.calendar.imip import build_imip, calendar_parts
from tidings.calendar.itip import Method, build_request, parse_itip

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_request_mail_is_multipart_alternative_with_method_parameter() -> None:
    message = parse_itip(build_request(parse_calendar(EVENT)))
    raw = build_imip(message, "alice@example.test", ["carol@remote.test"], "Planning", NOW)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["From"] == "alice@example.test"
    assert parsed["Subject"] == "Invitation: Planning"
    assert parsed["Message-ID"].endswith("@example.test>")
    kinds = [part.get_content_type() for part in parsed.iter_parts()]
    assert kinds == ["text/plain", "text/calendar"]
    calendar_part = list(parsed.iter_parts())[1]
    assert calendar_part.get_param("method") == "REQUEST"
    assert b"\n" not in raw.replace(b"\r\n", b""), "SMTP needs CRLF line endings only"


def test_calendar_parts_round_trip_the_itip_text() -> None:
    message = parse_itip(build_request(parse_calendar(EVENT)))
    raw = build_imip(message, "alice@example.test", ["carol@remote.test"], "Planning", NOW)
    parts = calendar_parts(raw)
    assert len(parts) == 1
    again = parse_itip(parts[0])
    assert (again.method, again.uid, again.sequence) == (Method.REQUEST, "meeting-1", 2)


def test_calendar_parts_skip_calendars_without_a_method() -> None:
    raw = (
        b"From: a@remote.test\r\nTo: b@example.test\r\nSubject: ics\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/calendar; charset=utf-8\r\n\r\n" + EVENT.encode()
    )
    assert calendar_parts(raw) == []
