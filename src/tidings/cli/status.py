"""`tidings status`: the figures `GET /v1/status` gives (domains, principals per kind,
queue depth, audit records, storage, messages stored per hour).

Open connections are counted by the running server's own metrics, so a CLI process
reading the store sees none; `--json` gives the API's document unchanged.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING

from tidings.cli.actions import leaf
from tidings.cli.directory import Admin

if TYPE_CHECKING:
    from tidings.cli.actions import SubParsers


def _pairs(counts: object) -> str:
    if not isinstance(counts, dict) or not counts:
        return "-"
    return ", ".join(f"{k}={v}" for k, v in counts.items())


async def status(admin: Admin, args: argparse.Namespace) -> object:
    figures = asdict(await admin.service.operations.status(admin.actor))
    if args.json:
        return figures
    per_hour = figures.pop("stored_per_hour")
    figures["principals"] = _pairs(figures["principals"])
    figures["connections"] = _pairs(figures["connections"])
    busiest = max(per_hour, key=lambda h: h["messages"], default=None)
    figures["busiest_hour"] = (
        f"{busiest['hour']} ({busiest['messages']} messages)" if busiest else None
    )
    return figures


def add_status_command(commands: SubParsers) -> None:
    """Register `tidings status`."""
    leaf(commands, "status", "server figures: domains, principals, queue, audit, storage",
         status)  # fmt: skip
