from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tidings.config import ConfigError, ListenAddress, SmarthostTLS, settings_from_mapping
from tidings.delivery.outbound.client import TLSMode
from tidings.delivery.outbound.service import outbound_settings


def _settings(delivery: dict[str, object], tmp_path: Path):  # type: ignore[no-untyped-def]
    return settings_from_mapping(
        {"server": {"hostname": "mail.example.test"}, "delivery": delivery}, base_dir=tmp_path
    )


def test_delivery_defaults(tmp_path: Path) -> None:
    d = _settings({}, tmp_path).delivery
    assert d.resolver is None and d.smarthost is None and d.mx_port == 25
    assert d.give_up_after_seconds == 5 * 86400
    assert d.delay_notice_after_seconds == 4 * 3600
    out = outbound_settings(_settings({}, tmp_path))
    assert out.hostname == "mail.example.test"
    assert out.schedule.give_up_after == timedelta(days=5)
    assert out.smarthost is None and out.smarthost_client is None


def test_delivery_keys_are_read(tmp_path: Path) -> None:
    settings = _settings(
        {
            "resolver": "127.0.0.1:5353",
            "mx_port": 2525,
            "smarthost": "relay.example.net:587",
            "smarthost_user": "u",
            "smarthost_password": "p",
            "smarthost_tls": "starttls",
            "retry_schedule_seconds": [60, 120.5],
            "give_up_after_seconds": 3600,
            "delay_notice_after_seconds": 600,
            "max_concurrent_deliveries": 3,
            "connect_timeout_seconds": 5,
        },
        tmp_path,
    )
    d = settings.delivery
    assert d.resolver == ListenAddress("127.0.0.1", 5353)
    assert d.smarthost == ListenAddress("relay.example.net", 587)
    assert d.smarthost_tls is SmarthostTLS.STARTTLS
    assert d.retry_schedule_seconds == (60.0, 120.5)
    out = outbound_settings(settings)
    assert out.smarthost == ("relay.example.net", 587)
    assert out.smarthost_client is not None
    assert out.smarthost_client.tls is TLSMode.REQUIRED
    assert out.smarthost_client.tls_context is not None  # a relay's certificate is checked
    assert out.schedule.steps == (60.0, 120.5)
    assert out.max_concurrent == 3
    assert out.mx_client is not None and out.mx_client.connect_timeout == 5.0


@pytest.mark.parametrize(
    ("delivery", "problem"),
    [
        ({"resolver": "dns.example:53"}, "delivery.resolver"),
        ({"retry_schedule_seconds": []}, "delivery.retry_schedule_seconds"),
        ({"retry_schedule_seconds": ["5m"]}, "delivery.retry_schedule_seconds"),
        ({"smarthost_tls": "maybe"}, "delivery.smarthost_tls"),
        ({"mx_port": 70000}, "delivery.mx_port"),
        ({"give_up_after": 5}, "delivery.give_up_after"),
    ],
)
def test_bad_delivery_settings_name_the_key(
    delivery: dict[str, object], problem: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=problem):
        _settings(delivery, tmp_path)
