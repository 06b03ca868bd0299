"""The [hygiene] settings for sender authentication, reputation, throttling and DKIM
signing; read by tidings.config with its one-line errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tidings.config_reader import TableReader, is_hostname, is_ip, show_value


@dataclass(frozen=True, slots=True)
class HygieneSettings:
    # Sender authentication at DATA time on the MX (SPF, DKIM, DMARC, ARC).
    auth_checks: bool = False
    resolver: tuple[str, int] | None = None  # None: [delivery] resolver, else the system's
    dns_timeout_seconds: float = 5.0
    # Apply DMARC p=reject (550 5.7.1) and p=quarantine (into Junk); off: headers only.
    dmarc_enforce: bool = True
    # Reputation at RCPT time: a listed client is refused with 554 5.7.1.
    dnsbl_zones: tuple[str, ...] = ()
    dnswl_zones: tuple[str, ...] = ()  # a listed client skips greylisting and DNSBLs
    greylisting: bool = False
    greylist_delay_seconds: float = 300.0
    greylist_retry_window_seconds: float = 86400.0  # a retry later than this starts over
    greylist_allow_after_passes: int = 5  # then the client's network is allow-listed
    greylist_allow_seconds: float = 36 * 86400.0
    # Token buckets, messages per minute (0: off); the burst is the same number.
    max_messages_per_ip_per_minute: float = 0.0
    max_messages_per_sender_per_minute: float = 0.0
    # Outbound DKIM signing with the keys under dkim_dir (tidings dkim generate).
    dkim_signing: bool = True
    dkim_dir: Path | None = None  # None: <data_dir>/dkim


def _resolver(t: TableReader) -> tuple[str, int] | None:
    text = t.string("resolver", "")
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not is_ip(host) or not port.isdigit() or not 0 < int(port) < 65536:
        t.fail("resolver", f'expected "IP:PORT", got {show_value(text)}')
    return host, int(port)


def _zones(t: TableReader, key: str) -> tuple[str, ...]:
    zones = t.string_list(key, [])
    for zone in zones:
        if not is_hostname(zone):
            t.fail(key, f"expected DNS zone names, got {show_value(zone)}")
    return tuple(z.lower().rstrip(".") for z in zones)


def read_hygiene(t: TableReader, data_dir: Path) -> HygieneSettings:
    """The [hygiene] table. Raises ConfigError."""
    x = HygieneSettings()
    dkim_dir = t.path("dkim_dir", data_dir / "dkim", data_dir)
    settings = HygieneSettings(
        auth_checks=t.boolean("auth_checks", x.auth_checks),
        resolver=_resolver(t),
        dns_timeout_seconds=t.number("dns_timeout_seconds", x.dns_timeout_seconds,
                                     minimum=0.1, maximum=60.0),
        dmarc_enforce=t.boolean("dmarc_enforce", x.dmarc_enforce),
        dnsbl_zones=_zones(t, "dnsbl_zones"),
        dnswl_zones=_zones(t, "dnswl_zones"),
        greylisting=t.boolean("greylisting", x.greylisting),
        greylist_delay_seconds=t.number("greylist_delay_seconds", x.greylist_delay_seconds),
        greylist_retry_window_seconds=t.number(
            "greylist_retry_window_seconds", x.greylist_retry_window_seconds, minimum=60.0),
        greylist_allow_after_passes=t.integer(
            "greylist_allow_after_passes", x.greylist_allow_after_passes, minimum=1),
        greylist_allow_seconds=t.number("greylist_allow_seconds", x.greylist_allow_seconds),
        max_messages_per_ip_per_minute=t.number(
            "max_messages_per_ip_per_minute", x.max_messages_per_ip_per_minute),
        max_messages_per_sender_per_minute=t.number(
            "max_messages_per_sender_per_minute", x.max_messages_per_sender_per_minute),
        dkim_signing=t.boolean("dkim_signing", x.dkim_signing),
        dkim_dir=dkim_dir,
    )
    t.finish()
    return settings
