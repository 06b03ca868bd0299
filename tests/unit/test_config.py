"""The TOML settings loader: defaults, overrides and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.config import (
    ConfigError,
    Durability,
    ListenAddress,
    LogFormat,
    default_listeners,
    load_settings,
    parse_listen_override,
    settings_from_mapping,
)

BASE = Path("/srv/tidings")


def load(data: dict[str, object]) -> object:
    return settings_from_mapping(data, base_dir=BASE, source="tidings.toml")


def test_empty_config_gives_every_default_under_the_data_dir() -> None:
    s = settings_from_mapping({}, base_dir=BASE)
    assert s.server.data_dir == BASE
    assert s.database.url == "sqlite:////srv/tidings/tidings.db"
    assert s.database.durability is Durability.FULL
    assert s.database.group_commit is True
    assert s.database.group_commit_max_wait_ms == 2.0
    assert s.database.group_commit_max_batch == 256
    assert s.blobs.path == BASE / "blobs"
    assert s.blobs.inline_max_bytes == 65536
    assert s.tls.cert == BASE / "tls" / "cert.pem"
    assert s.tls.key == BASE / "tls" / "key.pem"
    assert s.limits.max_message_bytes == 50 * 1024 * 1024
    assert s.limits.idle_timeout_seconds.imap == 1800
    assert s.limits.idle_timeout_seconds.smtp == 300
    assert s.limits.idle_timeout_seconds.pop3 == 600
    assert s.auth.allow_plaintext_on_loopback is True
    assert s.redis.url is None
    assert s.logging.format is LogFormat.TEXT


def test_default_ports_for_a_normal_user_are_high_and_on_loopback() -> None:
    listeners = default_listeners(as_root=False)
    assert listeners["smtp"] == ListenAddress("127.0.0.1", 2525)
    assert listeners["imaps"] == ListenAddress("127.0.0.1", 1993)
    assert listeners["https"] == ListenAddress("127.0.0.1", 8443)


def test_default_ports_for_root_are_the_standard_ones_on_every_interface() -> None:
    listeners = default_listeners(as_root=True)
    assert listeners["smtp"] == ListenAddress("0.0.0.0", 25)
    assert listeners["submissions"] == ListenAddress("0.0.0.0", 465)
    assert listeners["managesieve"] == ListenAddress("0.0.0.0", 4190)


def test_relative_paths_resolve_from_the_config_folder_and_absolute_ones_stay() -> None:
    s = settings_from_mapping(
        {"server": {"data_dir": "data"}, "blobs": {"path": "/mnt/blobs"}}, base_dir=BASE
    )
    assert s.server.data_dir == BASE / "data"
    assert s.blobs.path == Path("/mnt/blobs")
    assert s.tls.cert == BASE / "data" / "tls" / "cert.pem"


def test_listeners_accept_ipv4_ipv6_and_names_and_empty_disables() -> None:
    s = settings_from_mapping(
        {"listeners": {"imap": "[::1]:143", "smtp": "mx.example.org:25", "pop3": ""}},
        base_dir=BASE,
    )
    assert s.listeners["imap"] == ListenAddress("::1", 143)
    assert str(s.listeners["imap"]) == "[::1]:143"
    assert s.listeners["smtp"] == ListenAddress("mx.example.org", 25)
    assert s.listeners["pop3"] is None
    assert "pop3" not in s.enabled_listeners()


def test_listen_override_replaces_one_listener_only() -> None:
    s = settings_from_mapping({}, base_dir=BASE)
    name, address = parse_listen_override("http=127.0.0.1:0")
    changed = s.with_listeners({name: address})
    assert changed.listeners["http"] == ListenAddress("127.0.0.1", 0)
    assert changed.listeners["imap"] == s.listeners["imap"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"listeners": {"imap": "1143"}},
            'tidings.toml: listeners.imap: expected "HOST:PORT", got "1143"',
        ),
        (
            {"listeners": {"imap": "127.0.0.1:99999"}},
            "tidings.toml: listeners.imap: port 99999 is out of range 0-65535",
        ),
        (
            {"listeners": {"imap": "::1:143"}},
            'tidings.toml: listeners.imap: expected "HOST:PORT", got "::1:143"',
        ),
        ({"listeners": {"imap": 143}}, "tidings.toml: listeners.imap: expected a string, got 143"),
        ({"listeners": {"ftp": "127.0.0.1:21"}}, "tidings.toml: listeners.ftp: unknown setting"),
        ({"sever": {}}, "tidings.toml: sever: unknown setting"),
        ({"server": "x"}, 'tidings.toml: server: expected a table, got "x"'),
        (
            {"database": {"durability": "maybe"}},
            'tidings.toml: database.durability: expected one of "full", "normal", "off", '
            'got "maybe"',
        ),
        (
            {"database": {"group_commit": "yes"}},
            'tidings.toml: database.group_commit: expected true or false, got "yes"',
        ),
        (
            {"database": {"group_commit_max_batch": True}},
            "tidings.toml: database.group_commit_max_batch: expected an integer, got true",
        ),
        (
            {"database": {"group_commit_max_batch": 0}},
            "tidings.toml: database.group_commit_max_batch: expected an integer of at least 1, "
            "got 0",
        ),
        (
            {"database": {"group_commit_max_wait_ms": float("nan")}},
            "tidings.toml: database.group_commit_max_wait_ms: expected a number from 0 to 1000, "
            "got nan",
        ),
        (
            {"database": {"url": "mysql://x"}},
            'tidings.toml: database.url: expected "sqlite:///PATH" or "postgresql://...", '
            'got "mysql://x"',
        ),
        (
            {"limits": {"idle_timeout_seconds": {"imap": "long"}}},
            'tidings.toml: limits.idle_timeout_seconds.imap: expected a number, got "long"',
        ),
        ({"server": {"hostname": "mail_1"}}, "expected a DNS host name"),
        ({"redis": {"url": "http://x"}}, 'redis.url: expected "redis://HOST:PORT/DB"'),
        ({"logging": {"level": "loud"}}, "logging.level: expected one of debug, info"),
        ({"blobs": {"path": "a\x00b"}}, "blobs.path: control characters are not allowed"),
        ({"auth": {"lockout": 3}}, "tidings.toml: auth.lockout: unknown setting"),
        (
            {"proxy_protocol": {"listeners": ["imaps"]}},
            'tidings.toml: proxy_protocol.listeners: "imaps" cannot take a PROXY header',
        ),
        (
            {"proxy_protocol": {"trusted_networks": ["10.0.0.0/33"]}},
            "proxy_protocol.trusted_networks: expected a network like 10.0.0.0/8",
        ),
        (
            {"proxy_protocol": {"listeners": "smtp"}},
            'proxy_protocol.listeners: expected an array of strings, got "smtp"',
        ),
    ],
)
def test_bad_settings_raise_one_line_naming_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(data)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("imap", "--listen: expected NAME=HOST:PORT"),
        ("gopher=127.0.0.1:70", '--listen: unknown listener "gopher"'),
        ("imap=localhost", '--listen imap: expected "HOST:PORT", got "localhost"'),
    ],
)
def test_bad_listen_overrides_raise_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_listen_override(text)


def test_missing_file_and_bad_toml_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml")
    bad = tmp_path / "tidings.toml"
    bad.write_text("[server\nhostname = 1\n")
    with pytest.raises(ConfigError, match=r"tidings\.toml: invalid TOML"):
        load_settings(bad)


def test_proxy_protocol_listeners_and_networks_load() -> None:
    s = settings_from_mapping(
        {"proxy_protocol": {"listeners": ["smtp", "imap"], "trusted_networks": ["10.0.0.0/8"]}},
        base_dir=BASE,
    )
    assert s.proxy_protocol.listeners == frozenset({"smtp", "imap"})
    assert s.proxy_protocol.trusted_networks == ("10.0.0.0/8",)


def test_the_config_written_by_init_is_the_defaults_plus_filtering(tmp_path: Path) -> None:
    from tidings.cli.init import render_config

    path = tmp_path / "tidings.toml"
    path.write_text(render_config("mail.example.org", tmp_path))
    s = load_settings(path)
    assert s.server.hostname == "mail.example.org"
    # A new server filters spam and executable attachments; everything else is default.
    assert s == settings_from_mapping(
        {
            "server": {"hostname": "mail.example.org"},
            "spam": {"enabled": True},
            "antivirus": {"blocked_attachments": "reject"},
        },
        base_dir=tmp_path,
        source=str(path),
    )


def test_file_settings_load_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tidings.toml"
    path.write_text(
        '[server]\nhostname = "mail.example.org"\n'
        '[database]\ndurability = "normal"\n'
        '[listeners]\nimap = "127.0.0.1:10143"\n'
        '[logging]\nformat = "json"\nlevel = "DEBUG"\n'
    )
    s = load_settings(path)
    assert s.server.hostname == "mail.example.org"
    assert s.server.data_dir == tmp_path
    assert s.database.durability is Durability.NORMAL
    assert s.listeners["imap"] == ListenAddress("127.0.0.1", 10143)
    assert s.logging.level == "debug"
    assert s.logging.format is LogFormat.JSON


def test_a_key_ending_in_a_newline_is_quoted_in_the_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "tidings.toml"
    path.write_text('[server]\n"hostname\\n" = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "\n" not in str(caught.value)
    assert '"hostname\\n"' in str(caught.value)
