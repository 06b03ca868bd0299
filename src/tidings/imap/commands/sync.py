"""Bringing the selected view up to date (RFC 9051 §7.5.1 / §5.5; RFC 7162 §3.2.10)."""

from __future__ import annotations

from tidings.imap import commands_model as m
from tidings.imap.commands.context import Ctx
from tidings.model.errors import NotFound


def may_expunge(command: m.Command) -> bool:
    """EXPUNGE may not be sent during FETCH, STORE, SEARCH (and other commands that name
    messages by sequence number); their UID forms are fine (RFC 9051 §7.5.1, §5.5)."""
    match command:
        case m.Fetch(uid=uid) | m.Store(uid=uid) | m.Search(uid=uid) | m.Copy(uid=uid):
            return uid
        case m.Sort(uid=uid) | m.Thread(uid=uid):
            return uid
    return True


async def sync(ctx: Ctx, *, allow_expunge: bool, force: bool = False) -> None:
    """Emit what changed in the selected mailbox since this session last looked."""
    view = ctx.session.view
    if view is None:
        return
    try:
        # The account's modseq moves on every change (flags, \Seen of shared readers,
        # expunges), so an unchanged value means there is nothing to report.
        highest = await ctx.mail.highest_modseq(ctx.actor, view.mailbox.account_id)
        if highest == view.account_modseq and not force:
            if allow_expunge and view.expunged:
                for response in view.flush_expunges():
                    await ctx.emit(response)
            return
        current = await ctx.mail.messages(ctx.actor, view.mailbox.id)
    except NotFound:
        return  # deleted under us; the next command will say so
    view.account_modseq = highest
    uid_command = ctx.session.rev2
    for response in view.refresh(current, allow_expunge=allow_expunge, rev2=ctx.session.rev2,
                                 send_uid=uid_command):
        await ctx.emit(response)
