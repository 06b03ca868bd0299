"""The `tidings` command: set up, run and administer a Tidings server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import tidings
from tidings.cli import calendars
from tidings.cli.audit import add_audit_commands
from tidings.cli.common import CLIError, report_error
from tidings.cli.directory import add_directory_commands
from tidings.cli.dkim import add_dkim_commands
from tidings.cli.init import add_init_command
from tidings.cli.permissions import add_permission_commands
from tidings.cli.principals import add_principal_commands
from tidings.cli.quarantine import add_quarantine_commands
from tidings.cli.queue import add_queue_commands
from tidings.cli.remote import add_remote_mode
from tidings.cli.remote_commands import REMOTE
from tidings.cli.resources import add_resource_commands
from tidings.cli.serve import add_serve_commands
from tidings.cli.spam import add_spam_commands
from tidings.cli.status import add_status_command
from tidings.config import ConfigError
from tidings.model.errors import TidingsError
from tidings.net.tls import TLSError

DESCRIPTION = """\
Tidings: a mail and collaboration server.

Start with `tidings init --data DIR --domain example.org`, then
`tidings serve --data DIR`. Admin commands take --data or --config too
(or $TIDINGS_DATA / $TIDINGS_CONFIG) and --json for machine-readable output.
Exit codes: 0 done, 1 failed (not found, conflict, server error), 2 bad usage."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidings",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tidings {tidings.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    add_init_command(commands)
    add_serve_commands(commands)
    add_directory_commands(commands)
    add_principal_commands(commands)  # adds actions to domain, user, group, ...
    add_resource_commands(commands)
    add_permission_commands(commands)
    add_status_command(commands)
    add_audit_commands(commands)
    add_queue_commands(commands)
    add_dkim_commands(commands)
    add_quarantine_commands(commands)
    add_spam_commands(commands)
    calendars.add_calendar_commands(commands)
    # --url/--token on the leaves the API covers
    add_remote_mode(parser, {**REMOTE, **calendars.REMOTE})
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (CLIError, ConfigError, TidingsError, TLSError, OSError) as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        sys.stderr.write("tidings: interrupted\n")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
