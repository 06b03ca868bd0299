"""Helpers the admin subcommands added for API parity share: registering a leaf
command that runs an `Admin` action (see `tidings.cli.directory.run_action`),
finding the action list of an existing command, and checking a principal's kind."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

from tidings.cli.common import add_leaf
from tidings.cli.directory import Action, run_action

if TYPE_CHECKING:  # the class is not subscriptable at run time
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def leaf(
    parent: SubParsers, name: str, help_text: str, action: Action, **defaults: object
) -> argparse.ArgumentParser:
    """A subcommand with --data/--config and --json that runs `action` as the local
    operator (`cli:<os user>`, audited like the API)."""
    return add_leaf(parent, name, help_text, run_action, action=action, **defaults)


def group(parent: SubParsers, name: str, help_text: str) -> SubParsers:
    """A subcommand that only holds actions (`tidings permission grant ...`)."""
    parser = parent.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(title="actions", metavar="ACTION", required=True)


def actions_of(commands: SubParsers, name: str) -> SubParsers:
    """The ACTION list of an already registered command, to add actions to it."""
    parser = commands.choices[name]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError(f"`tidings {name}` has no actions")
