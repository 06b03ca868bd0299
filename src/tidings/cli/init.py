"""`tidings init`: a data directory with a commented config, a self-signed TLS
certificate, a migrated database, the first domain and its first administrator."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tomllib
from pathlib import Path

from tidings.cli.common import EXIT_FAILED, CLIError, emit, opened_store, quiet_logging
from tidings.config import (
    CONFIG_FILE_NAME,
    LISTENER_NAMES,
    STANDARD_PORTS,
    USER_PORTS,
    Settings,
    settings_from_mapping,
)
from tidings.directory.admin import DirectoryAdmin
from tidings.model.directory import Role
from tidings.model.errors import Conflict
from tidings.net.tls import generate_self_signed

CONFIG_TEMPLATE = """\
# Tidings configuration, written by `tidings init`.
# Every setting below shows its default; docs/configuration.md explains each one.
# Relative paths are relative to this file's folder.

[server]
hostname = "{hostname}"   # the name in SMTP greetings and the TLS certificate
# data_dir = "."
# workers = "auto"          # server processes: one per CPU; 1 for a single process

[database]
# url = "sqlite:///{data_dir}/tidings.db"   # or "postgresql://user@host/db"
# durability = "full"               # "full" survives power loss; "normal"; "off"
# group_commit = true
# group_commit_max_wait_ms = 2.0
# group_commit_max_batch = 256

[blobs]
# path = "blobs"
# inline_max_bytes = 65536

[tls]
# cert = "tls/cert.pem"
# key = "tls/key.pem"

[listeners]
# "HOST:PORT"; "" disables one. Defaults: {port_note}
{listener_lines}

[limits]
# max_connections_per_listener = 1000
# max_connections_per_ip = 50
# max_message_bytes = 52428800
# max_line_bytes = 65536
# max_recipients = 1000
# drain_seconds = 10.0

[limits.idle_timeout_seconds]
# smtp = 300
# imap = 1800
# pop3 = 600
# managesieve = 300
# http = 75

[auth]
# allow_plaintext_on_loopback = true
# max_failures_per_user = 5
# max_failures_per_ip = 20
# failure_window_seconds = 900
# max_failure_delay_seconds = 900

[redis]
# url = "redis://127.0.0.1:6379/0"   # share throttling and notifications between nodes

[hygiene]
# auth_checks = true                  # SPF, DKIM, DMARC and ARC on inbound MX mail (uses DNS)
# greylisting = true
# dnsbl_zones = ["zen.spamhaus.org"]
# dkim_signing = true                 # after `tidings dkim generate DOMAIN`

[spam]
enabled = true                        # rules and Bayes; junk at 5, reject at 15
# junk_threshold = 5.0
# reject_threshold = 15.0

[antivirus]
blocked_attachments = "reject"        # executables and scripts, also inside zip files
# clamd = "unix:/run/clamav/clamd.ctl"
# action = "reject"                   # or "quarantine"

[proxy_protocol]
# listeners = []                      # e.g. ["smtp", "imap"] behind HAProxy send-proxy-v2
# trusted_networks = ["127.0.0.0/8", "::1/128"]

[logging]
# level = "info"
# format = "text"                     # or "json"
"""


def render_config(hostname: str, data_dir: Path) -> str:
    """The commented config for a new data directory."""
    user = [f'# {n} = "127.0.0.1:{USER_PORTS[n]}"' for n in LISTENER_NAMES]
    return CONFIG_TEMPLATE.format(
        hostname=hostname,
        data_dir=data_dir,
        port_note=(
            "as root the standard ports on 0.0.0.0 ("
            + ", ".join(f"{n} {STANDARD_PORTS[n]}" for n in LISTENER_NAMES)
            + "); otherwise these:"
        ),
        listener_lines="\n".join(user),
    )


def run_init(args: argparse.Namespace) -> int:
    data: Path = args.data.absolute()
    config_file = data / CONFIG_FILE_NAME
    if config_file.exists():
        raise CLIError(f"{config_file} exists already; refusing to overwrite it", EXIT_FAILED)
    domain = args.domain.strip().lower()
    hostname = (args.hostname or f"mail.{domain}").lower()
    admin_address = args.admin or f"admin@{domain}"
    text = render_config(hostname, data)
    # Check the rendered file (hostname syntax, paths) before touching the disk.
    settings = settings_from_mapping(tomllib.loads(text), base_dir=data, source=str(config_file))
    quiet_logging()
    data.mkdir(parents=True, exist_ok=True, mode=0o750)
    if not settings.tls.cert.exists():
        generate_self_signed(hostname, settings.tls.cert, settings.tls.key)
    password = asyncio.run(_populate(settings, domain, admin_address))
    _write_atomically(config_file, text)
    emit(
        {
            "config": str(config_file),
            "hostname": hostname,
            "domain": domain,
            "admin": admin_address.lower(),
            "password": password,
            "next": f"tidings serve --data {data}",
        },
        as_json=args.json,
    )
    if not args.json:
        sys.stdout.write("The password is shown only this once.\n")
    return 0


async def _populate(settings: Settings, domain: str, admin_address: str) -> str:
    """Create the database, the domain and the admin; returns the admin's password."""
    async with opened_store(settings) as store:
        admin = DirectoryAdmin(store.directory)
        try:
            await admin.add_domain(domain)
        except Conflict:
            pass  # left by an earlier `init` that stopped before writing the config
        _, generated = await admin.add_user(
            admin_address, display_name="Administrator", role=Role.GLOBAL_ADMIN
        )
    assert generated is not None
    return generated


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def add_init_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    description = (
        "Create a data directory: a commented tidings.toml, a self-signed TLS "
        "certificate, the database, the first domain and a global administrator "
        "whose generated password is printed once. Refuses to overwrite a config."
    )
    parser = commands.add_parser(
        "init", help="set up a new data directory", description=description
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="DIR",
        help="the data directory to create (or fill, if empty)",
    )
    parser.add_argument("--domain", required=True, help="the first mail domain, e.g. example.org")
    parser.add_argument("--hostname", help="this server's DNS name (default: mail.DOMAIN)")
    parser.add_argument(
        "--admin", metavar="ADDRESS", help="the administrator's address (default: admin@DOMAIN)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run_init)
