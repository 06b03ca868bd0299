"""IDLE (RFC 2177 / RFC 9051 §6.3.13): push changes as they happen until DONE.

Wakes on the store's notifier for the selected mailbox's account, so a delivery
reaches the client within one notification round trip.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.sync import sync
from tidings.imap.parser import Malformed
from tidings.imap.responses import Continuation, Untagged
from tidings.model.ids import AccountId, ModSeq

log = logging.getLogger(__name__)


async def idle(ctx: Ctx, command: m.Idle) -> Done:
    view = ctx.session.view
    account = view.mailbox.account_id if view is not None else ctx.account
    # Subscribe before the first look, so a change between the two is not missed.
    changes = ctx.services.notifier.subscribe(AccountId(account))
    await ctx.emit(Continuation("idling"))
    await sync(ctx, allow_expunge=True)
    await ctx.flush()
    done = asyncio.ensure_future(ctx.channel.read_line("idle"))
    stopping = ctx.services.stopping
    try:
        while True:
            wake = asyncio.ensure_future(_next(changes))
            waiters: set[asyncio.Future[object]] = {done, wake}  # type: ignore[arg-type]
            stop_task = None
            if stopping is not None:
                stop_task = asyncio.ensure_future(stopping.wait())
                waiters.add(stop_task)  # type: ignore[arg-type]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in (wake, stop_task):
                if task is not None and not task.done():
                    task.cancel()
            if done.done():
                return _finish(done.result())
            if stop_task is not None and stop_task.done():
                await ctx.emit(Untagged("BYE", "Server shutting down"))
                await ctx.flush()
                ctx.session.logout()
                raise CommandError("NO", "Server shutting down", "UNAVAILABLE")
            await sync(ctx, allow_expunge=True)
            await ctx.flush()
    finally:
        if not done.done():
            done.cancel()
        close = getattr(changes, "aclose", None)
        if close is not None:
            await close()


async def _next(changes: AsyncIterator[ModSeq]) -> ModSeq | None:
    try:
        return await anext(changes)
    except StopAsyncIteration:
        await asyncio.sleep(3600)
        return None


def _finish(line: object) -> Done:
    if line is None:
        raise ConnectionResetError("peer closed during IDLE")
    if isinstance(line, Malformed):
        return Done("BAD", "Expected DONE")
    return Done("OK", "IDLE terminated")
