"""Bringing the selected view up to date (RFC 9051 §7.5.1 / §5.5; RFC 7162 §3.2.10)."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.imap import commands_model as m
from tidings.imap.commands.context import Ctx
from tidings.imap.responses import Response
from tidings.imap.view import MailboxView
from tidings.model.errors import Conflict, NotFound
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import Message


def may_expunge(command: m.Command) -> bool:
    """EXPUNGE may not be sent during FETCH, STORE, SEARCH (and other commands that name
    messages by sequence number); their UID forms are fine (RFC 9051 §7.5.1, §5.5)."""
    match command:
        case m.Fetch(uid=uid) | m.Store(uid=uid) | m.Search(uid=uid) | m.Copy(uid=uid):
            return uid
        case m.Sort(uid=uid) | m.Thread(uid=uid):
            return uid
    return True


async def sync(ctx: Ctx, *, allow_expunge: bool) -> None:
    """Emit what changed in the selected mailbox since this session last looked: one
    read of the messages whose modseq moved and the UIDs expunged since (the whole list
    only when the change log no longer reaches back that far)."""
    view = ctx.session.view
    if view is None:
        return
    rev2 = ctx.session.rev2
    try:
        changes = await ctx.mail.messages_changed_since(
            ctx.actor, view.mailbox.id, ModSeq(view.account_modseq))
        highest, changed, gone = changes.highest_modseq, changes.changed, changes.expunged
    except Conflict:
        try:
            highest = await ctx.mail.highest_modseq(ctx.actor, view.mailbox.account_id)
            current = await ctx.mail.messages(ctx.actor, view.mailbox.id)
        except NotFound:
            return
        view.account_modseq = highest
        await _emit(ctx, view.refresh(current, allow_expunge=allow_expunge, rev2=rev2,
                                      send_uid=rev2,
                                      recent_after=_recent_floor(ctx, view, current)))
        return
    except NotFound:
        return  # deleted under us; the next command will say so
    # Everything up to `highest` is now known: memberships carry the account's modseq.
    view.account_modseq = highest
    await _emit(ctx, view.apply_changes(changed, gone, allow_expunge=allow_expunge, rev2=rev2,
                                        send_uid=rev2,
                                        recent_after=_recent_floor(ctx, view, changed)))


async def _emit(ctx: Ctx, responses: list[Response]) -> None:
    for response in responses:
        await ctx.emit(response)


def _recent_floor(ctx: Ctx, view: MailboxView, changed: Sequence[Message]) -> UID | None:
    """For a rev1 session: claim the messages new to it; those above the returned UID
    are \\Recent here (RFC 3501 §2.3.2). A read-only view looks without claiming."""
    if ctx.session.rev2:
        return None
    last = view.uids[-1] if view.uids else 0
    new = [m for m in changed if m.uid > last]
    if not new:
        return None
    key = (view.mailbox.id, view.mailbox.uid_validity)
    if view.readonly:
        return UID(ctx.services.recent.mark(key, new))
    return ctx.services.recent.claim(key, new)
