"""The IMAP command layer: the only IMAP code that awaits the store's services.

`IMAPCommands.run` executes one command the session handed out, streams its untagged
responses, reports changes of the selected mailbox where RFC 9051 §7.5.1 allows, and
ends with the tagged response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tidings.imap import commands_model as m
from tidings.imap.commands import (
    acl,
    append,
    auth,
    fetch,
    flags,
    idle,
    listing,
    mailboxes,
    search,
    selection,
)
from tidings.imap.commands.context import Channel, CommandError, Ctx, Done, Services
from tidings.imap.commands.sync import may_expunge, sync
from tidings.imap.errors import map_error
from tidings.imap.responses import Code
from tidings.imap.session import IMAPSession
from tidings.model.errors import TidingsError

log = logging.getLogger(__name__)

Handler = Callable[[Ctx, Any], Awaitable[Done]]

HANDLERS: dict[type[m.Command], Handler] = {
    m.Login: auth.login,
    m.Authenticate: auth.authenticate,
    m.Select: selection.select,
    m.Close: selection.close,
    m.Unselect: selection.unselect,
    m.Expunge: selection.expunge,
    m.Noop: selection.noop,
    m.Check: selection.noop,
    m.Create: mailboxes.create,
    m.Delete: mailboxes.delete,
    m.Rename: mailboxes.rename,
    m.Subscribe: mailboxes.subscribe,
    m.Status: mailboxes.status,
    m.Namespace: mailboxes.namespace,
    m.List: listing.list_mailboxes,
    m.Fetch: fetch.fetch,
    m.Store: flags.store,
    m.Copy: flags.copy,
    m.Search: search.search,
    m.Sort: search.sort,
    m.Thread: search.thread,
    m.Append: append.append,
    m.Idle: idle.idle,
    m.SetAcl: acl.setacl,
    m.DeleteAcl: acl.deleteacl,
    m.GetAcl: acl.getacl,
    m.ListRights: acl.listrights,
    m.MyRights: acl.myrights,
    m.GetQuota: acl.getquota,
    m.GetQuotaRoot: acl.getquotaroot,
    m.SetQuota: acl.setquota,
}

# Commands after which there is no point looking for changes (the state is gone or new).
_NO_SYNC = (m.Select, m.Close, m.Unselect, m.Logout, m.Noop, m.Check, m.Idle)


class IMAPCommands:
    """Runs commands for sessions; one instance serves every connection."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def run(self, session: IMAPSession, command: m.Command, channel: Channel,
                  remote_ip: str = "") -> None:
        ctx = Ctx(session, self.services, channel, remote_ip)
        handler = HANDLERS.get(type(command))
        if handler is None:
            await ctx.finish(command.tag, Done("BAD", "Command not implemented"))
            return
        try:
            done = await handler(ctx, command)
        except CommandError as exc:
            done = exc.done
        except TidingsError as exc:
            status, code, text = map_error(exc)
            done = Done(status, text, code)
        if session.view is not None and not isinstance(command, _NO_SYNC):
            try:
                await sync(ctx, allow_expunge=may_expunge(command))
            except TidingsError as exc:
                log.warning("imap.sync_failed session=%s error=%s", session.session_id,
                            type(exc).__name__)
        await ctx.finish(command.tag, done)


__all__ = ["HANDLERS", "Channel", "Code", "IMAPCommands", "Services"]
