"""Typed settings loaded from TOML; every default of the server lives in this file.

`load_settings(path)` reads `tidings.toml`; any unknown key, wrong type or bad value
raises `ConfigError` whose message is one line naming the file, the key and the problem.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from tidings.config_reader import ConfigError as ConfigError
from tidings.config_reader import TableReader as _Table
from tidings.config_reader import is_hostname as _is_hostname
from tidings.config_reader import is_ip as _is_ip
from tidings.config_reader import show_value as _show
from tidings.hygiene.settings import HygieneSettings, read_hygiene
from tidings.hygiene.spam.settings import (
    AntivirusSettings,
    SpamSettings,
    read_antivirus,
    read_spam,
)

CONFIG_FILE_NAME: Final = "tidings.toml"
MiB: Final = 1024 * 1024

LISTENER_NAMES: Final = (
    "smtp",
    "submission",
    "submissions",
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "managesieve",
    "http",
    "https",
)
# Listeners whose connections start with a TLS handshake (RFC 8314 implicit TLS).
IMPLICIT_TLS_LISTENERS: Final = frozenset({"submissions", "imaps", "pop3s", "https"})

# Unprivileged defaults (ports above 1024, loopback only) for a non-root user.
USER_PORTS: Final[Mapping[str, int]] = {
    "smtp": 2525,
    "submission": 5587,
    "submissions": 5465,
    "imap": 1143,
    "imaps": 1993,
    "pop3": 1110,
    "pop3s": 1995,
    "managesieve": 4190,
    "http": 8080,
    "https": 8443,
}
# The IANA ports, on every interface, when the server starts as root.
STANDARD_PORTS: Final[Mapping[str, int]] = {
    "smtp": 25,
    "submission": 587,
    "submissions": 465,
    "imap": 143,
    "imaps": 993,
    "pop3": 110,
    "pop3s": 995,
    "managesieve": 4190,
    "http": 80,
    "https": 443,
}


class Durability(enum.StrEnum):
    FULL = "full"  # fsync on every commit: survives power loss
    NORMAL = "normal"  # survives a process crash, may lose the last commits on power loss
    OFF = "off"  # no fsync at all: tests and benchmarks only


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


MAX_WORKERS: Final = 64


@dataclass(frozen=True, slots=True)
class ServerSettings:
    hostname: str
    data_dir: Path
    # Server processes sharing the listening sockets (`serve --workers`); 1: one
    # process, no supervisor. A config file without the key means "auto", one per
    # CPU (os.cpu_count()); default_settings (in-process servers) says 1.
    workers: int = 1

    @property
    def run_dir(self) -> Path:
        """Sockets and lock files of the running server (worker hints, POP3 locks)."""
        return self.data_dir / "run"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    durability: Durability = Durability.FULL
    group_commit: bool = True
    group_commit_max_wait_ms: float = 2.0
    group_commit_max_batch: int = 256


@dataclass(frozen=True, slots=True)
class BlobSettings:
    path: Path
    inline_max_bytes: int = 65536


@dataclass(frozen=True, slots=True)
class TLSSettings:
    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class IdleTimeouts:
    smtp: float = 300.0  # RFC 5321 §4.5.3.2.7 asks for at least 5 minutes
    imap: float = 1800.0  # RFC 9051 §5.4: at least 30 minutes
    pop3: float = 600.0  # RFC 1939 §3: at least 10 minutes
    managesieve: float = 300.0
    http: float = 75.0


@dataclass(frozen=True, slots=True)
class LimitSettings:
    max_connections_per_listener: int = 1000
    max_connections_per_ip: int = 50
    idle_timeout_seconds: IdleTimeouts = field(default_factory=IdleTimeouts)
    max_message_bytes: int = 50 * MiB
    max_line_bytes: int = 64 * 1024
    max_recipients: int = 1000
    drain_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class AuthSettings:
    allow_plaintext_on_loopback: bool = True
    # Failures inside the window before each further attempt is delayed, doubling
    # up to max_failure_delay_seconds (the directory's throttle).
    max_failures_per_ip: int = 20
    max_failures_per_user: int = 5
    failure_window_seconds: float = 900.0
    max_failure_delay_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str | None = None


DEFAULT_PROXY_NETWORKS: Final = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True, slots=True)
class ProxyProtocolSettings:
    """Listeners behind a load balancer that sends a PROXY header (v1 or v2)."""

    listeners: frozenset[str] = frozenset()
    trusted_networks: tuple[str, ...] = DEFAULT_PROXY_NETWORKS


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    level: str = "info"
    format: LogFormat = LogFormat.TEXT


class SmarthostTLS(enum.StrEnum):
    STARTTLS = "starttls"  # STARTTLS required (RFC 3207)
    OPPORTUNISTIC = "opportunistic"  # STARTTLS when offered
    IMPLICIT = "implicit"  # TLS from the first byte (RFC 8314, port 465)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Outbound delivery ([delivery]): DNS, smarthost, retries, notices, limits."""

    resolver: ListenAddress | None = None  # None: the system's resolvers (resolv.conf)
    mx_port: int = 25  # the port used for MX hosts (tests point it elsewhere)
    smarthost: ListenAddress | None = None  # relay everything through HOST:PORT
    smarthost_user: str = ""
    smarthost_password: str = ""
    smarthost_tls: SmarthostTLS = SmarthostTLS.STARTTLS
    # Waits between attempts; the last one repeats (RFC 5321 §4.5.4.1).
    retry_schedule_seconds: tuple[float, ...] = (300.0, 600.0, 1200.0, 2400.0, 4000.0)
    give_up_after_seconds: float = 5 * 86400.0
    delay_notice_after_seconds: float = 4 * 3600.0
    max_concurrent_deliveries: int = 20
    connect_timeout_seconds: float = 30.0
    command_timeout_seconds: float = 300.0  # RFC 5321 §4.5.3.2 allows up to 10 minutes
    poll_interval_seconds: float = 5.0
    # A node's claim on a message it is delivering (the queue lease); after a crash
    # the message is retried once the lease runs out.
    lease_seconds: float = 600.0


class BareLineEndingPolicy(enum.StrEnum):
    REJECT = "reject"  # refuse a message with a bare CR or LF (SMTP smuggling, RFC 5321 §2.3.8)
    NORMALIZE = "normalize"  # rewrite each bare CR or LF as CRLF


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    """The SMTP listeners ([smtp])."""

    bare_line_endings: BareLineEndingPolicy = BareLineEndingPolicy.REJECT
    max_messages_per_sender_per_hour: int = 0  # 0: no limit
    # Where mail for <postmaster> (RFC 5321 §4.5.1) goes when the domain has no
    # postmaster mailbox of its own; "": such mail is refused as an unknown user.
    postmaster: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings
    database: DatabaseSettings
    blobs: BlobSettings
    tls: TLSSettings
    listeners: Mapping[str, ListenAddress | None]  # None: disabled
    limits: LimitSettings = field(default_factory=LimitSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    proxy_protocol: ProxyProtocolSettings = field(default_factory=ProxyProtocolSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    smtp: SMTPSettings = field(default_factory=SMTPSettings)
    hygiene: HygieneSettings = field(default_factory=HygieneSettings)
    spam: SpamSettings = field(default_factory=SpamSettings)
    antivirus: AntivirusSettings = field(default_factory=AntivirusSettings)
    source: str = "<defaults>"

    def enabled_listeners(self) -> dict[str, ListenAddress]:
        """The listeners to open, in the canonical order."""
        return {n: a for n, a in self.listeners.items() if a is not None}

    def with_listeners(self, overrides: Mapping[str, ListenAddress | None]) -> Settings:
        """A copy with some listener addresses replaced (`--listen NAME=HOST:PORT`)."""
        merged = dict(self.listeners)
        merged.update(overrides)
        return replace(self, listeners=merged)

    def with_workers(self, workers: int) -> Settings:
        """A copy with another worker count (`serve --workers`)."""
        return replace(self, server=replace(self.server, workers=workers))

    def with_log_level(self, level: str) -> Settings:
        """A copy with another log level. Raises ConfigError."""
        checked = _check_level(level, "--log-level")
        return replace(self, logging=replace(self.logging, level=checked))


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_listeners(*, as_root: bool | None = None) -> dict[str, ListenAddress | None]:
    """Standard ports on all interfaces as root; high ports on loopback otherwise."""
    root = is_root() if as_root is None else as_root
    if root:
        return {n: ListenAddress("0.0.0.0", STANDARD_PORTS[n]) for n in LISTENER_NAMES}
    return {n: ListenAddress("127.0.0.1", USER_PORTS[n]) for n in LISTENER_NAMES}


def default_settings(data_dir: Path, hostname: str = "localhost") -> Settings:
    """Every setting at its default for a data directory, but one process (`workers`
    1): these settings serve in-process servers, which are one process by nature."""
    return settings_from_mapping(
        {"server": {"hostname": hostname, "workers": 1}},
        base_dir=data_dir.absolute(), source="<defaults>",
    )


def load_settings(path: Path) -> Settings:
    """Read and check a TOML config file. Raises ConfigError."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    return settings_from_mapping(data, base_dir=path.parent.absolute(), source=source)


def parse_listen_override(text: str) -> tuple[str, ListenAddress | None]:
    """Parse `NAME=HOST:PORT` (or `NAME=` to disable). Raises ConfigError."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise ConfigError(f"--listen: expected NAME=HOST:PORT, got {_show(text)}")
    if name not in LISTENER_NAMES:
        raise ConfigError(f"--listen: unknown listener {_show(name)} ({_names()})")
    return name, parse_address(value.strip(), f"--listen {name}")


def parse_address(text: str, where: str) -> ListenAddress | None:
    """`HOST:PORT`, `[IPv6]:PORT`, or "" for disabled. Raises ConfigError."""
    if text == "":
        return None
    bad = ConfigError(f'{where}: expected "HOST:PORT", got {_show(text)}')
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isascii() or not port_text.isdigit():
        raise bad
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip(host) or ":" not in host:
            raise bad
    elif ":" in host or not (_is_ip(host) or _is_hostname(host)):
        raise bad
    port = int(port_text)
    if port > 65535:
        raise ConfigError(f"{where}: port {port} is out of range 0-65535")
    return ListenAddress(host, port)


def parse_workers(value: object, where: str) -> int:
    """A worker count: an integer from 1 to MAX_WORKERS, or "auto" (one per CPU).
    Raises ConfigError."""
    if value == "auto":
        return max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise ConfigError(
            f'{where}: expected an integer from 1 to {MAX_WORKERS} or "auto", got {_show(value)}'
        )
    return value


def _workers(t: _Table) -> int:
    value = t._get("workers")
    if value is None:
        value = "auto"  # a mail server uses every core, as Postfix and Dovecot do
    return parse_workers(value, f"{t.source}: {t.where('workers')}")


def settings_from_mapping(
    data: Mapping[str, object], *, base_dir: Path, source: str = CONFIG_FILE_NAME
) -> Settings:
    """Build Settings from a parsed TOML document; relative paths resolve from base_dir."""
    root = _Table(source, "", data)
    server_t = root.table("server")
    data_dir = server_t.path("data_dir", base_dir, base_dir)
    server = ServerSettings(
        hostname=server_t.hostname("hostname", "localhost"),
        data_dir=data_dir,
        workers=_workers(server_t),
    )
    server_t.finish()
    settings = Settings(
        server=server,
        database=_database(root.table("database"), data_dir),
        blobs=_blobs(root.table("blobs"), data_dir),
        tls=_tls(root.table("tls"), data_dir),
        listeners=_listeners(root.table("listeners")),
        limits=_limits(root.table("limits")),
        auth=_auth(root.table("auth")),
        redis=_redis(root.table("redis")),
        proxy_protocol=_proxy_protocol(root.table("proxy_protocol")),
        logging=_logging(root.table("logging")),
        delivery=_delivery(root.table("delivery")),
        smtp=_smtp(root.table("smtp")),
        hygiene=read_hygiene(root.table("hygiene"), data_dir),
        spam=read_spam(root.table("spam")),
        antivirus=read_antivirus(root.table("antivirus")),
        source=source,
    )
    root.finish()
    return settings


def _database(t: _Table, data_dir: Path) -> DatabaseSettings:
    default_url = f"sqlite:///{data_dir / 'tidings.db'}"
    url = t.string("url", default_url)
    scheme = url.partition(":")[0].partition("+")[0]
    if not url.partition(":")[1] or scheme not in ("sqlite", "postgresql", "postgres"):
        t.fail("url", f'expected "sqlite:///PATH" or "postgresql://...", got {_show(url)}')
    d = DatabaseSettings(
        url=url,
        durability=Durability(t.choice("durability", "full", [m.value for m in Durability])),
        group_commit=t.boolean("group_commit", True),
        group_commit_max_wait_ms=t.number("group_commit_max_wait_ms", 2.0, maximum=1000.0),
        group_commit_max_batch=t.integer("group_commit_max_batch", 256, minimum=1),
    )
    t.finish()
    return d


def _blobs(t: _Table, data_dir: Path) -> BlobSettings:
    b = BlobSettings(
        path=t.path("path", data_dir / "blobs", data_dir),
        inline_max_bytes=t.integer("inline_max_bytes", 65536),
    )
    t.finish()
    return b


def _tls(t: _Table, data_dir: Path) -> TLSSettings:
    s = TLSSettings(
        cert=t.path("cert", data_dir / "tls" / "cert.pem", data_dir),
        key=t.path("key", data_dir / "tls" / "key.pem", data_dir),
    )
    t.finish()
    return s


def _listeners(t: _Table) -> dict[str, ListenAddress | None]:
    result = default_listeners()
    for name in LISTENER_NAMES:
        if name in t.raw:
            where = f"{t.source}: {t.where(name)}"
            result[name] = parse_address(t.string(name, ""), where)
    t.finish()
    return result


def _limits(t: _Table) -> LimitSettings:
    it = t.table("idle_timeout_seconds")
    d = IdleTimeouts()
    idle = IdleTimeouts(
        smtp=it.number("smtp", d.smtp, minimum=1.0),
        imap=it.number("imap", d.imap, minimum=1.0),
        pop3=it.number("pop3", d.pop3, minimum=1.0),
        managesieve=it.number("managesieve", d.managesieve, minimum=1.0),
        http=it.number("http", d.http, minimum=1.0),
    )
    it.finish()
    x = LimitSettings()
    limits = LimitSettings(
        max_connections_per_listener=t.integer(
            "max_connections_per_listener", x.max_connections_per_listener, minimum=1
        ),
        max_connections_per_ip=t.integer(
            "max_connections_per_ip", x.max_connections_per_ip, minimum=1
        ),
        idle_timeout_seconds=idle,
        max_message_bytes=t.integer("max_message_bytes", x.max_message_bytes, minimum=1024),
        max_line_bytes=t.integer("max_line_bytes", x.max_line_bytes, minimum=1000),
        max_recipients=t.integer("max_recipients", x.max_recipients, minimum=1),
        drain_seconds=t.number("drain_seconds", x.drain_seconds, maximum=3600.0),
    )
    t.finish()
    return limits


def _auth(t: _Table) -> AuthSettings:
    x = AuthSettings()
    a = AuthSettings(
        allow_plaintext_on_loopback=t.boolean(
            "allow_plaintext_on_loopback", x.allow_plaintext_on_loopback
        ),
        max_failures_per_ip=t.integer("max_failures_per_ip", x.max_failures_per_ip, minimum=1),
        max_failures_per_user=t.integer(
            "max_failures_per_user", x.max_failures_per_user, minimum=1
        ),
        failure_window_seconds=t.number(
            "failure_window_seconds", x.failure_window_seconds, minimum=1.0
        ),
        max_failure_delay_seconds=t.number(
            "max_failure_delay_seconds", x.max_failure_delay_seconds
        ),
    )
    t.finish()
    return a


def _redis(t: _Table) -> RedisSettings:
    url = t.string("url", "") or None
    if url is not None and url.partition("://")[0] not in ("redis", "rediss", "unix"):
        t.fail("url", f'expected "redis://HOST:PORT/DB", got {_show(url)}')
    t.finish()
    return RedisSettings(url=url)


# TLS must start after the header, and uvicorn reads HTTP itself: neither can take one.
_NO_PROXY_PROTOCOL = IMPLICIT_TLS_LISTENERS | {"http"}


def _proxy_protocol(t: _Table) -> ProxyProtocolSettings:
    names = t.string_list("listeners", [])
    for name in names:
        if name not in LISTENER_NAMES or name in _NO_PROXY_PROTOCOL:
            t.fail("listeners", f"{_show(name)} cannot take a PROXY header")
    networks = t.string_list("trusted_networks", list(DEFAULT_PROXY_NETWORKS))
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            t.fail("trusted_networks", f"expected a network like 10.0.0.0/8, got {_show(network)}")
    t.finish()
    return ProxyProtocolSettings(listeners=frozenset(names), trusted_networks=tuple(networks))


def _logging(t: _Table) -> LoggingSettings:
    level = _check_level(t.string("level", "info"), t.where("level"))
    fmt = LogFormat(t.choice("format", "text", [m.value for m in LogFormat]))
    t.finish()
    return LoggingSettings(level=level, format=fmt)


def _delivery(t: _Table) -> DeliverySettings:
    x = DeliverySettings()
    resolver = parse_address(t.string("resolver", ""), f"{t.source}: {t.where('resolver')}")
    if resolver is not None and not _is_ip(resolver.host):
        t.fail("resolver", f"expected an IP address and port, got {_show(resolver.host)}")
    schedule = t._get("retry_schedule_seconds")
    if schedule is None:
        steps = x.retry_schedule_seconds
    elif (
        not isinstance(schedule, list)
        or not schedule
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in schedule)
        or not all(1 <= v <= 30 * 86400 for v in schedule)
    ):
        t.fail("retry_schedule_seconds", "expected a non-empty array of seconds (1 to 2592000)")
    else:
        steps = tuple(float(v) for v in schedule)
    where = f"{t.source}: {t.where('smarthost')}"
    d = DeliverySettings(
        resolver=resolver,
        mx_port=t.integer("mx_port", x.mx_port, minimum=1),
        smarthost=parse_address(t.string("smarthost", ""), where),
        smarthost_user=t.string("smarthost_user", ""),
        smarthost_password=t.string("smarthost_password", ""),
        smarthost_tls=SmarthostTLS(
            t.choice("smarthost_tls", x.smarthost_tls.value, [m.value for m in SmarthostTLS])
        ),
        retry_schedule_seconds=steps,
        give_up_after_seconds=t.number(
            "give_up_after_seconds", x.give_up_after_seconds, minimum=60.0
        ),
        delay_notice_after_seconds=t.number(
            "delay_notice_after_seconds", x.delay_notice_after_seconds, minimum=60.0
        ),
        max_concurrent_deliveries=t.integer(
            "max_concurrent_deliveries", x.max_concurrent_deliveries, minimum=1
        ),
        connect_timeout_seconds=t.number(
            "connect_timeout_seconds", x.connect_timeout_seconds, minimum=0.1, maximum=600.0
        ),
        command_timeout_seconds=t.number(
            "command_timeout_seconds", x.command_timeout_seconds, minimum=0.1, maximum=3600.0
        ),
        poll_interval_seconds=t.number(
            "poll_interval_seconds", x.poll_interval_seconds, minimum=0.01, maximum=3600.0
        ),
        lease_seconds=t.number("lease_seconds", x.lease_seconds, minimum=1.0, maximum=86400.0),
    )
    if d.mx_port > 65535:
        t.fail("mx_port", f"port {d.mx_port} is out of range 1-65535")
    t.finish()
    return d


def _smtp(t: _Table) -> SMTPSettings:
    x = SMTPSettings()
    postmaster = t.string("postmaster", "")
    local, at, domain = postmaster.rpartition("@")
    if postmaster and (not at or not local or not _is_hostname(domain)):
        t.fail("postmaster", f'expected an address like "a@example.com", got {_show(postmaster)}')
    s = SMTPSettings(
        bare_line_endings=BareLineEndingPolicy(
            t.choice(
                "bare_line_endings", x.bare_line_endings.value,
                [m.value for m in BareLineEndingPolicy],
            )
        ),
        max_messages_per_sender_per_hour=t.integer(
            "max_messages_per_sender_per_hour", x.max_messages_per_sender_per_hour
        ),
        postmaster=postmaster,
    )
    t.finish()
    return s


_LEVELS: Final = ("debug", "info", "warning", "error", "critical")


def _check_level(level: str, where: str) -> str:
    if level.lower() not in _LEVELS:
        raise ConfigError(f"{where}: expected one of {', '.join(_LEVELS)}, got {_show(level)}")
    return level.lower()


def _names() -> str:
    return "one of " + ", ".join(LISTENER_NAMES)
