"""Reading one TOML table with type checks and one-line errors; used by tidings.config.

Holds no defaults (those live in tidings.config), only the checking machinery.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn


class ConfigError(Exception):
    """The configuration is invalid; str(error) is one line fit for an operator."""


class TableReader:
    """One TOML table being read; remembers which keys were used to flag the rest."""

    def __init__(self, source: str, prefix: str, raw: object) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: {prefix}: expected a table, got {show_value(raw)}")
        self.raw: Mapping[str, object] = raw
        self._used: set[str] = set()

    def where(self, key: str) -> str:
        shown = key if _BARE_KEY.fullmatch(key) else json.dumps(key)
        return f"{self.prefix}.{shown}" if self.prefix else shown

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{self.source}: {self.where(key)}: {problem}")

    def _get(self, key: str) -> object:
        self._used.add(key)
        return self.raw.get(key)

    def table(self, key: str) -> TableReader:
        value = self._get(key)
        return TableReader(self.source, self.where(key), {} if value is None else value)

    def string(self, key: str, default: str) -> str:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {show_value(value)}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            self.fail(key, "control characters are not allowed")
        return value

    def string_list(self, key: str, default: list[str]) -> list[str]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected an array of strings, got {show_value(value)}")
        return list(value)

    def choice(self, key: str, default: str, choices: list[str]) -> str:
        value = self.string(key, default)
        if value not in choices:
            quoted = ", ".join(f'"{c}"' for c in choices)
            self.fail(key, f"expected one of {quoted}, got {show_value(value)}")
        return value

    def hostname(self, key: str, default: str) -> str:
        value = self.string(key, default)
        if not is_hostname(value):
            self.fail(key, f"expected a DNS host name, got {show_value(value)}")
        return value.lower()

    def path(self, key: str, default: Path, base: Path) -> Path:
        value = self.string(key, "")
        if value == "":
            return default
        return base / Path(value).expanduser()

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {show_value(value)}")
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected an integer, got {show_value(value)}")
        if value < minimum or value > 2**62:
            self.fail(key, f"expected an integer of at least {minimum}, got {value}")
        return value

    def number(
        self, key: str, default: float, *, minimum: float = 0.0, maximum: float = 1e9
    ) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {show_value(value)}")
        number = float(value)
        if not math.isfinite(number) or not minimum <= number <= maximum:
            self.fail(key, f"expected a number from {minimum:g} to {maximum:g}, got {value}")
        return number

    def finish(self) -> None:
        """Raise ConfigError for the first key that no reader asked for."""
        for key in self.raw:
            if key not in self._used:
                raise ConfigError(f"{self.source}: {self.where(key)}: unknown setting")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+\Z")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


def is_hostname(text: str) -> bool:
    if not text or len(text) > 253 or not text.isascii():
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in text.rstrip(".").split("."))


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def show_value(value: object) -> str:
    """A short rendering of a bad value for an error message."""
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, Mapping):
        shown = "a table"
    elif isinstance(value, list):
        shown = "an array"
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, int | float):
        shown = repr(value)
    else:
        shown = f"a {type(value).__name__}"
    return shown if len(shown) <= 60 else shown[:57] + "..."
