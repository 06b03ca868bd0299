"""[server] workers and `serve --workers`: 1 to 64 or "auto"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tidings.config import ConfigError, parse_workers, settings_from_mapping

BASE = Path("/srv/tidings")


def workers(value: object) -> int:
    data = {"server": {"workers": value}}
    return settings_from_mapping(data, base_dir=BASE, source="t.toml").server.workers


def test_a_file_without_the_key_runs_one_worker_per_cpu() -> None:
    assert settings_from_mapping({}, base_dir=BASE).server.workers == min(64, os.cpu_count() or 1)


def test_a_count_or_auto_is_accepted() -> None:
    assert workers(1) == 1
    assert workers(64) == 64
    assert workers("auto") == min(64, os.cpu_count() or 1)


@pytest.mark.parametrize("value", [0, 65, -1, "many", True, 2.0, ""])
def test_other_values_are_refused_naming_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^t\.toml: server\.workers: expected an integer"):
        workers(value)


def test_the_command_line_value_is_checked_the_same_way() -> None:
    assert parse_workers("3", "--workers") == 3
    with pytest.raises(ConfigError, match=r"^--workers: expected an integer from 1 to 64"):
        parse_workers("0", "--workers")
