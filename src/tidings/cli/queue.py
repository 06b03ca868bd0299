"""`tidings queue list|show|retry|delete|flush`: inspect and steer the outbound queue.

`retry` and `flush` make messages due now; the running server's scheduler picks them
up at its next poll. `flush --now` also runs one delivery pass in this process.
`retry` and `delete` go through the admin service, as the API does, so each leaves
an audit record (`queue.retry`, `queue.delete`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from tidings.admin.auth import local_operator
from tidings.admin.operations import OperationsAdminService
from tidings.admin.roles import Actor
from tidings.admin.service import build_admin_service
from tidings.cli.common import (
    add_leaf,
    emit,
    load_config,
    opened_store,
    quiet_logging,
)
from tidings.config import Settings
from tidings.directory.auth import Authenticator
from tidings.model.ids import QueueId
from tidings.model.queue import QueuedMessage, RecipientState
from tidings.store.services import Store

Action = Callable[[Store, Settings, argparse.Namespace], Awaitable[object]]
PAGE = 1000


def run_queue_action(args: argparse.Namespace) -> int:
    """Open the store from the config, run the chosen action, print its result."""
    action: Action = args.action
    settings = load_config(args)
    quiet_logging()

    async def go() -> object:
        async with opened_store(settings) as store:
            return await action(store, settings, args)

    result = asyncio.run(go())
    if result is not None:
        emit(result, as_json=args.json)
    return 0


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _pending(message: QueuedMessage) -> int:
    return sum(r.state is RecipientState.PENDING for r in message.recipients)


def _next_attempt(message: QueuedMessage) -> datetime | None:
    times = [r.next_attempt_at for r in message.recipients
             if r.state is RecipientState.PENDING and r.next_attempt_at is not None]
    return min(times, default=None)


def _row(message: QueuedMessage) -> dict[str, object]:
    errors = [r.last_error for r in message.recipients if r.last_error]
    return {
        "id": message.id,
        "sender": message.sender or "<>",
        "recipients": len(message.recipients),
        "pending": _pending(message),
        "size": message.size,
        "created": _when(message.created_at),
        "next_attempt": _when(_next_attempt(message)),
        "last_error": errors[-1] if errors else None,
    }


def message_as_json(message: QueuedMessage) -> dict[str, object]:
    """Everything known about one queued message."""
    return {
        "id": message.id,
        "sender": message.sender,
        "size": message.size,
        "blob_id": message.blob_id,
        "created": _when(message.created_at),
        "submitted_by": message.submitted_by,
        "dsn_ret": message.dsn_ret,
        "dsn_envid": message.dsn_envid,
        "delay_notified": message.delay_notified,
        "recipients": [
            {
                "address": r.address,
                "state": r.state.value,
                "attempts": r.attempts,
                "next_attempt": _when(r.next_attempt_at),
                "last_error": r.last_error,
                "notify": r.notify,
            }
            for r in message.recipients
        ],
    }


async def _all(store: Store) -> list[QueuedMessage]:
    found: list[QueuedMessage] = []
    while batch := await store.queue.list(offset=len(found), limit=PAGE):
        found.extend(batch)
        if len(batch) < PAGE:
            break
    return found


async def queue_list(store: Store, settings: Settings, args: argparse.Namespace) -> object:
    rows = [_row(m) for m in await _all(store)]
    if args.json:
        return rows
    return rows or "the queue is empty"


async def queue_show(store: Store, settings: Settings, args: argparse.Namespace) -> object:
    message = await store.queue.get(QueueId(args.id))
    view = message_as_json(message)
    if args.json:
        return view
    lines = [f"{k}: {'-' if v is None else v}" for k, v in view.items() if k != "recipients"]
    for r in message.recipients:
        lines.append(
            f"recipient: {r.address} state={r.state.value} attempts={r.attempts} "
            f"next={_when(r.next_attempt_at) or '-'} error={r.last_error or '-'}"
        )
    return "\n".join(lines)


def _operations(store: Store, settings: Settings) -> tuple[OperationsAdminService, Actor]:
    """The API's role-checked, audited queue operations, as the local operator."""
    service = build_admin_service(
        store, Authenticator(store.directory), hostname=settings.server.hostname
    )
    return service.operations, local_operator(getpass.getuser())


async def queue_retry(store: Store, settings: Settings, args: argparse.Namespace) -> object:
    operations, actor = _operations(store, settings)
    ids = _ids(args.ids)
    for queue_id in ids:
        await operations.retry(actor, queue_id)  # audited as queue.retry
    return {"retried": list(ids)}


async def queue_delete(store: Store, settings: Settings, args: argparse.Namespace) -> object:
    operations, actor = _operations(store, settings)
    ids = _ids(args.ids)
    for queue_id in ids:
        await operations.delete_queued(actor, queue_id)  # audited as queue.delete
    return {"deleted": list(ids)}


async def queue_flush(store: Store, settings: Settings, args: argparse.Namespace) -> object:
    messages = [m for m in await _all(store) if _pending(m)]
    for message in messages:
        await store.queue.retry_now(message.id)
    result: dict[str, object] = {"flushed": len(messages)}
    if args.now:
        from tidings.delivery.outbound import build_scheduler

        report = await build_scheduler(settings, store).run_once()
        result.update(delivered=report.delivered, deferred=report.deferred,
                      failed=report.failed)
    return result


def _ids(values: Sequence[int]) -> list[QueueId]:
    return [QueueId(v) for v in values]


def _leaf(
    parent: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    action: Action,
) -> argparse.ArgumentParser:
    return add_leaf(parent, name, help_text, run_queue_action, action=action)


def add_queue_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `tidings queue ...` on the main parser."""
    queue = commands.add_parser(
        "queue", help="inspect and steer the outbound mail queue",
        description="The outbound queue: messages waiting for remote delivery.",
    )
    sub = queue.add_subparsers(title="actions", metavar="ACTION", required=True)
    _leaf(sub, "list", "list queued messages", queue_list)
    _leaf(sub, "show", "show one queued message and its recipients", queue_show).add_argument(
        "id", type=int, help="queue id (from `tidings queue list`)")
    _leaf(sub, "retry", "make messages due for delivery now", queue_retry).add_argument(
        "ids", type=int, nargs="+", metavar="ID")
    _leaf(sub, "delete", "drop messages from the queue (no bounce)", queue_delete).add_argument(
        "ids", type=int, nargs="+", metavar="ID")
    flush = _leaf(sub, "flush", "make every pending message due now", queue_flush)
    flush.add_argument("--now", action="store_true",
                       help="also run one delivery pass in this process")
