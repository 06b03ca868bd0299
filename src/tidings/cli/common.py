"""What every `tidings` subcommand shares: finding the config, opening the store,
printing results (text or `--json`) and turning errors into one line and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tidings.config import CONFIG_FILE_NAME, ConfigError, Settings, load_settings
from tidings.logging_setup import setup_logging
from tidings.model.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TidingsError,
)

if TYPE_CHECKING:
    from tidings.store import SQLStore

EXIT_OK = 0
EXIT_FAILED = 1  # the operation failed: not found, conflict, server error
EXIT_USAGE = 2  # the command line, the config or an argument is wrong

JSONObject = Mapping[str, object]


class CLIError(Exception):
    """A failure to report as one line on stderr with the given exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """--data / --config, accepted by every command that needs the server's config."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        help=f"data directory holding {CONFIG_FILE_NAME} (default: $TIDINGS_DATA)",
    )
    group.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="configuration file (default: $TIDINGS_CONFIG, else ./tidings.toml)",
    )


def config_path(args: argparse.Namespace) -> Path:
    """Where the config is: --config, --data, $TIDINGS_CONFIG, $TIDINGS_DATA, ./."""
    if args.config is not None:
        return Path(args.config)
    if args.data is not None:
        return Path(args.data) / CONFIG_FILE_NAME
    if env := os.environ.get("TIDINGS_CONFIG"):
        return Path(env)
    if env := os.environ.get("TIDINGS_DATA"):
        return Path(env) / CONFIG_FILE_NAME
    local = Path(CONFIG_FILE_NAME)
    if local.exists():
        return local
    raise CLIError(
        "no configuration: pass --data DIR or --config FILE (or run `tidings init` first)",
        EXIT_USAGE,
    )


def load_config(args: argparse.Namespace) -> Settings:
    """Settings for this command. Raises ConfigError, CLIError."""
    return load_settings(config_path(args))


def quiet_logging() -> None:
    """Admin commands print results; only warnings from the libraries reach stderr."""
    setup_logging("warning", "text")


@contextlib.asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[SQLStore]:
    """The store described by the settings, migrated and closed afterwards."""
    # Imported here: `tidings --help` must not need the store.
    from tidings.store_settings import open_configured_store

    store = await open_configured_store(settings)
    try:
        yield store
    finally:
        await store.close()


def read_password(args: argparse.Namespace, *, stdin: TextIO | None = None) -> str | None:
    """The password chosen on the command line; None means "generate one".

    --password-stdin reads the first line of standard input; --prompt asks twice
    without echo. Passwords never appear in argv (visible to every local user).
    """
    if getattr(args, "password_stdin", False):
        line = (stdin or sys.stdin).readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CLIError("--password-stdin: standard input gave an empty password", EXIT_USAGE)
        return password
    if getattr(args, "prompt", False):
        try:
            first = getpass.getpass("New password: ")
            second = getpass.getpass("Repeat password: ")
        except EOFError:
            raise CLIError(
                "--prompt: no terminal to ask on; use --password-stdin instead", EXIT_USAGE
            ) from None
        if first != second:
            raise CLIError("the two passwords differ", EXIT_USAGE)
        if not first:
            raise CLIError("--prompt: the password is empty", EXIT_USAGE)
        return first
    return None


def add_password_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    group.add_argument("--prompt", action="store_true", help="ask for the password (not echoed)")


def emit(data: object, *, as_json: bool, out: TextIO | None = None) -> None:
    """Print a result: JSON when asked, else `key: value` lines or a table."""
    stream = out or sys.stdout
    if as_json:
        stream.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    if isinstance(data, Mapping):
        width = max((len(str(k)) for k in data), default=0)
        for key, value in data.items():
            stream.write(f"{key + ':':<{width + 1}} {_text(value)}\n")
    elif isinstance(data, Sequence) and not isinstance(data, str):
        _table(list(data), stream)
    else:
        stream.write(f"{data}\n")


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _table(rows: list[object], stream: TextIO) -> None:
    if not rows:
        return
    if not all(isinstance(r, Mapping) for r in rows):
        for row in rows:
            stream.write(f"{row}\n")
        return
    maps = [r for r in rows if isinstance(r, Mapping)]
    columns = list(maps[0].keys())
    cells = [[_text(r.get(c)) for c in columns] for r in maps]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    stream.write(header.rstrip() + "\n")
    for row in cells:
        line = "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
        stream.write(line.rstrip() + "\n")


def error_code(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an error escaping a command."""
    if isinstance(exc, CLIError):
        return exc.code, str(exc)
    if isinstance(exc, ConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, InvalidInput):
        field = f"{exc.field}: " if exc.field else ""
        return EXIT_USAGE, f"{field}{exc}"
    if isinstance(exc, NotFound | Conflict | PermissionDenied | AuthenticationFailed):
        return EXIT_FAILED, str(exc) or type(exc).__name__
    if isinstance(exc, TidingsError):
        return EXIT_FAILED, f"{type(exc).__name__}: {exc}"
    return EXIT_FAILED, str(exc) or type(exc).__name__


def report_error(exc: BaseException, *, err: TextIO | None = None) -> int:
    """Write `tidings: error: ...` (one line) and return the exit code."""
    code, message = error_code(exc)
    first_line = message.splitlines()[0] if message else type(exc).__name__
    (err or sys.stderr).write(f"tidings: error: {first_line}\n")
    return code


def add_leaf(
    parent: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    run: Callable[[argparse.Namespace], int],
    **defaults: object,
) -> argparse.ArgumentParser:
    """A subcommand with --data/--config and --json whose `run(args)` executes it;
    `defaults` (the action, say) land on the parsed arguments."""
    parser = parent.add_parser(name, help=help_text, description=help_text)
    add_config_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run, **defaults)
    return parser
