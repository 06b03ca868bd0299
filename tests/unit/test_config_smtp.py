"""The [smtp] table and [delivery] lease_seconds: defaults, values, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.config import BareLineEndingPolicy, ConfigError, Settings, settings_from_mapping


def _settings(data: dict[str, object]) -> Settings:
    return settings_from_mapping(data, base_dir=Path("/srv/tidings"))


def test_smtp_defaults_reject_bare_line_endings_and_set_no_limit() -> None:
    smtp = _settings({}).smtp
    assert smtp.bare_line_endings is BareLineEndingPolicy.REJECT
    assert (smtp.max_messages_per_sender_per_hour, smtp.postmaster) == (0, "")


def test_smtp_table_values_are_read() -> None:
    settings = _settings({
        "smtp": {"bare_line_endings": "normalize", "max_messages_per_sender_per_hour": 30,
                 "postmaster": "root@example.com"},
        "delivery": {"lease_seconds": 90},
    })
    assert settings.smtp.bare_line_endings is BareLineEndingPolicy.NORMALIZE
    assert settings.smtp.max_messages_per_sender_per_hour == 30
    assert settings.smtp.postmaster == "root@example.com"
    assert settings.delivery.lease_seconds == 90.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"smtp": {"bare_line_endings": "allow"}}, "smtp.bare_line_endings: expected one of"),
        ({"smtp": {"postmaster": "root"}}, "smtp.postmaster: expected an address"),
        ({"smtp": {"max_messages_per_sender_per_hour": -1}}, "at least 0"),
        ({"smtp": {"greeting": "hi"}}, "smtp.greeting: unknown setting"),
        ({"delivery": {"lease_seconds": 0}}, "delivery.lease_seconds"),
    ],
)
def test_bad_smtp_settings_give_one_line_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _settings(table)
    assert message in str(raised.value) and "\n" not in str(raised.value)
