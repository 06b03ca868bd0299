"""Property: whatever table a TOML file holds, the loader answers Settings or ConfigError."""

from __future__ import annotations

import datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.config import ConfigError, Settings, settings_from_mapping

SECTIONS = ["server", "database", "blobs", "tls", "listeners", "limits", "auth", "redis", "logging"]
KEYS = [
    "hostname",
    "data_dir",
    "url",
    "durability",
    "group_commit",
    "group_commit_max_wait_ms",
    "group_commit_max_batch",
    "path",
    "inline_max_bytes",
    "cert",
    "key",
    "smtp",
    "imap",
    "https",
    "max_connections_per_listener",
    "max_connections_per_ip",
    "idle_timeout_seconds",
    "max_message_bytes",
    "max_line_bytes",
    "max_recipients",
    "allow_plaintext_on_loopback",
    "level",
    "format",
    "drain_seconds",
    "max_failure_delay_seconds",
]

scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "127.0.0.1:0",
            "[::1]:143",
            "full",
            "json",
            "debug",
            "sqlite:///x",
            "redis://localhost",
            ":25",
            "a:b:c",
            "host:-1",
            "",
        ]
    ),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(timezones=st.just(datetime.UTC)),
    st.dates(),
    st.times(),
)
names = st.one_of(st.sampled_from(SECTIONS + KEYS), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=4)),
    max_leaves=12,
)
documents = st.dictionaries(
    st.one_of(st.sampled_from(SECTIONS), st.text(max_size=6)),
    st.one_of(st.dictionaries(names, values, max_size=5), values),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_random_tables_give_settings_or_a_one_line_config_error(doc: dict[str, object]) -> None:
    try:
        result = settings_from_mapping(doc, base_dir=Path("/srv/t"))
    except ConfigError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith("tidings.toml: ")
    else:
        assert isinstance(result, Settings)
