"""Structured log lines carry the session context of the task that logged them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tidings.logctx import bind_session, set_principal, unbind
from tidings.logging_setup import setup_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_lines_are_key_value_with_the_session_fields(captured: io.StringIO) -> None:
    setup_logging("info", "text", stream=captured)
    token = bind_session("imap", "127.0.0.1:5000")
    try:
        set_principal("alice@example.org")
        logging.getLogger("tidings.test").info("imap.login mechanism=%s", "PLAIN")
    finally:
        unbind(token)
    line = captured.getvalue().strip()
    assert " INFO    tidings.test imap.login mechanism=PLAIN session=" in line
    assert line.endswith("proto=imap peer=127.0.0.1:5000 principal=alice@example.org")


def test_json_lines_parse_and_hold_the_event_and_context(captured: io.StringIO) -> None:
    setup_logging("debug", "json", stream=captured)
    token = bind_session("smtp", "[::1]:25")
    try:
        logging.getLogger("tidings.test").warning("smtp.rejected reason=%s", "spam")
    finally:
        unbind(token)
    record = json.loads(captured.getvalue())
    assert record["event"] == "smtp.rejected reason=spam"
    assert record["level"] == "warning"
    assert record["proto"] == "smtp"
    assert "principal" not in record


def test_lines_outside_a_session_have_no_session_fields(captured: io.StringIO) -> None:
    setup_logging("info", "text", stream=captured)
    logging.getLogger("tidings.test").info("server.ready")
    assert "session=" not in captured.getvalue()
    assert captured.getvalue().rstrip().endswith("tidings.test server.ready")


def test_a_level_filters_lower_records(captured: io.StringIO) -> None:
    setup_logging("warning", "text", stream=captured)
    logging.getLogger("tidings.test").info("quiet")
    assert captured.getvalue() == ""
