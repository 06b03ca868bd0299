"""`tidings serve` (run every listener until a signal) and `tidings check`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from typing import TYPE_CHECKING

from tidings.cli.common import (
    EXIT_FAILED,
    CLIError,
    add_config_options,
    emit,
    load_config,
    opened_store,
    quiet_logging,
)
from tidings.config import MAX_WORKERS, ListenAddress, parse_listen_override, parse_workers
from tidings.net.tls import TLSError

if TYPE_CHECKING:
    from tidings.store.check import CheckReport


def run_serve(args: argparse.Namespace) -> int:
    settings = load_config(args)
    overrides: dict[str, ListenAddress | None] = {}
    for item in args.listen or ():
        name, address = parse_listen_override(item)
        overrides[name] = address
    if args.log_level:
        settings = settings.with_log_level(args.log_level)
    if args.workers is not None:
        settings = settings.with_workers(parse_workers(args.workers, "--workers"))
    from tidings.server import StartupError, serve  # the whole server: only when serving

    try:
        serve(settings, listen_overrides=overrides)
    except (StartupError, TLSError) as exc:
        raise CLIError(str(exc), EXIT_FAILED) from None
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Consistency check of the store; exit 1 while errors remain."""
    from tidings.store.check import check_store

    settings = load_config(args)
    quiet_logging()

    async def go() -> CheckReport:
        async with opened_store(settings) as store:
            return await check_store(store, repair=args.repair)

    report = asyncio.run(go())
    if args.json:
        emit(
            {
                "ok": report.ok,
                "blobs_checked": report.blobs_checked,
                "accounts_checked": report.accounts_checked,
                "mailboxes_checked": report.mailboxes_checked,
                "problems": [dataclasses.asdict(p) for p in report.problems],
            },
            as_json=True,
        )
    else:
        for problem in report.problems:
            sys.stdout.write(problem.describe() + "\n")
        sys.stdout.write(
            f"checked {report.blobs_checked} blobs, {report.accounts_checked} accounts, "
            f"{report.mailboxes_checked} mailboxes: "
            f"{'ok' if report.ok else f'{len(report.errors)} errors'}\n"
        )
    return 0 if report.ok else EXIT_FAILED


def add_serve_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve_help = (
        "Run the server: every enabled listener, until SIGTERM or Ctrl-C, which stop "
        "accepting, let sessions finish (limits.drain_seconds) and exit 0. With "
        "--workers N, a supervisor binds the listeners and forks N processes that "
        "share them, restarting any that dies."
    )
    parser = commands.add_parser("serve", help="run the server", description=serve_help)
    add_config_options(parser)
    parser.add_argument(
        "--listen",
        action="append",
        metavar="NAME=HOST:PORT",
        help="override one listener (repeatable); NAME= disables it. Names: smtp, "
        "submission, submissions, imap, imaps, pop3, pop3s, managesieve, http, https",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        help=f"server processes sharing the listeners: 1 to {MAX_WORKERS}, or auto (one "
        "per CPU); overrides [server] workers (default \"auto\"; 1: one process, no supervisor)",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="override [logging] level",
    )
    parser.set_defaults(run=run_serve)

    check = commands.add_parser(
        "check",
        help="check the store's consistency",
        description="Check that every stored message has its blob, counters match, "
        "and no orphan remains; --repair fixes what can be fixed safely.",
    )
    add_config_options(check)
    check.add_argument("--repair", action="store_true", help="fix what can be fixed")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=run_check)
