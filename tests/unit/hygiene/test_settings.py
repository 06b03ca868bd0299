"""The [hygiene] table: defaults, values and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.config import ConfigError, settings_from_mapping
from tidings.hygiene.stages import build_stages


def read(table: dict[str, object]) -> object:
    return settings_from_mapping({"hygiene": table}, base_dir=Path("/srv/t")).hygiene


def test_defaults_turn_no_inbound_check_on_but_sign_outbound() -> None:
    settings = settings_from_mapping({}, base_dir=Path("/srv/t"))
    assert settings.hygiene.auth_checks is False
    assert settings.hygiene.dkim_signing is True
    assert settings.hygiene.dkim_dir == Path("/srv/t/dkim")
    stages = build_stages(settings)
    assert (stages.delivery, stages.envelope) == ((), ())


def test_values_are_read() -> None:
    settings = settings_from_mapping({"hygiene": {
        "auth_checks": True, "resolver": "127.0.0.1:5353", "dnsbl_zones": ["BL.test."],
        "greylisting": True, "greylist_delay_seconds": 60,
        "max_messages_per_ip_per_minute": 30,
    }}, base_dir=Path("/srv/t"))
    h = settings.hygiene
    assert h.resolver == ("127.0.0.1", 5353)
    assert h.dnsbl_zones == ("bl.test",)
    stages = build_stages(settings)
    assert [s.name for s in stages.delivery] == ["auth", "dmarc"]
    assert [s.name for s in stages.envelope] == ["dnsbl", "ratelimit", "greylist"]


@pytest.mark.parametrize(("table", "message"), [
    ({"resolver": "localhost"}, 'hygiene.resolver: expected "IP:PORT"'),
    ({"dnsbl_zones": ["not a zone"]}, "hygiene.dnsbl_zones: expected DNS zone names"),
    ({"greylist_allow_after_passes": 0}, "hygiene.greylist_allow_after_passes"),
    ({"auth_checks": "yes"}, "hygiene.auth_checks: expected true or false"),
    ({"spf": True}, "hygiene.spf: unknown setting"),
])
def test_bad_values_give_one_line_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        read(table)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
