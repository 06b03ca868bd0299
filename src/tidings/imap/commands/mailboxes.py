"""CREATE (+USE), DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, STATUS, NAMESPACE
(RFC 9051 §6.3.4-12, RFC 6154 §3, RFC 8438 STATUS=SIZE, RFC 7889, RFC 8474)."""

from __future__ import annotations

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.names import DELIMITER, OTHER_USERS, SHARED, find, locate
from tidings.imap.responses import NamespaceData, StatusData
from tidings.imap.wire import Atom, Value
from tidings.model.errors import Conflict, NotFound
from tidings.model.ids import UID
from tidings.model.mail import Mailbox, MailboxRole

USE_ROLES: dict[str, MailboxRole] = {
    "\\ALL": MailboxRole.ALL,
    "\\ARCHIVE": MailboxRole.ARCHIVE,
    "\\DRAFTS": MailboxRole.DRAFTS,
    "\\FLAGGED": MailboxRole.FLAGGED,
    "\\JUNK": MailboxRole.JUNK,
    "\\SENT": MailboxRole.SENT,
    "\\TRASH": MailboxRole.TRASH,
    "\\IMPORTANT": MailboxRole.IMPORTANT,
}
STATUS_ITEMS = frozenset({"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE",
                          "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID"})


def role_attribute(role: MailboxRole | None) -> str | None:
    """The RFC 6154 attribute for a role ("\\Sent"); INBOX has none."""
    if role is None or role is MailboxRole.INBOX:
        return None
    return "\\" + role.value.capitalize()


async def create(ctx: Ctx, command: m.Create) -> Done:
    located = await locate(ctx, command.mailbox)
    if not located.local or located.local.upper() == "INBOX":
        raise CommandError("NO", "That mailbox already exists", "ALREADYEXISTS")
    role: MailboxRole | None = None
    for use in command.special_use:
        if use.upper() not in USE_ROLES or role is not None:
            raise CommandError("NO", f"Cannot use {use} here", "USEATTR")
        role = USE_ROLES[use.upper()]
    if role is not None:
        try:
            await ctx.mail.mailbox_by_role(ctx.actor, located.account, role)
        except NotFound:
            pass
        else:
            # RFC 6154 §3: one mailbox per special use here.
            raise CommandError("NO", "Another mailbox already has that use", "USEATTR")
    try:
        await ctx.mail.create_mailbox(ctx.actor, located.account, located.local, role)
    except Conflict as exc:
        raise CommandError("NO", "That mailbox already exists", "ALREADYEXISTS") from exc
    return Done("OK", "CREATE completed")


async def delete(ctx: Ctx, command: m.Delete) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    view = ctx.session.view
    if view is not None and view.mailbox.id == mailbox.id:
        ctx.session.unselect()
    await ctx.mail.delete_mailbox(ctx.actor, mailbox.id)
    return Done("OK", "DELETE completed")


async def rename(ctx: Ctx, command: m.Rename) -> Done:
    source, mailbox = await find(ctx, command.mailbox)
    target = await locate(ctx, command.new_name)
    if target.account != source.account or not target.local:
        raise CommandError("NO", "Cannot rename across accounts", "CANNOT")
    try:
        await ctx.mail.find_mailbox(ctx.actor, target.account, target.local)
    except NotFound:
        pass
    else:
        raise CommandError("NO", "The new name already exists", "ALREADYEXISTS")
    await ctx.mail.rename_mailbox(ctx.actor, mailbox.id, target.local)
    return Done("OK", "RENAME completed")


async def subscribe(ctx: Ctx, command: m.Subscribe) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    await ctx.mail.set_subscribed(ctx.actor, mailbox.id, command.subscribe)
    return Done("OK", f"{'SUBSCRIBE' if command.subscribe else 'UNSUBSCRIBE'} completed")


async def status(ctx: Ctx, command: m.Status) -> Done:
    unknown = [i for i in command.items if i not in STATUS_ITEMS]
    if unknown:
        raise CommandError("BAD", f"Unknown STATUS item {unknown[0]}")
    _located, mailbox = await find(ctx, command.mailbox)
    await ctx.emit(await status_data(ctx, mailbox, command.items, command.mailbox))
    return Done("OK", "STATUS completed")


async def status_data(ctx: Ctx, mailbox: Mailbox, items: tuple[str, ...], wire_name: str
                      ) -> StatusData:
    current = await ctx.mail.mailbox_status(ctx.actor, mailbox.id)
    box = current.mailbox
    values: dict[str, Value] = {
        "MESSAGES": current.messages,
        "UIDNEXT": box.uid_next,
        "UIDVALIDITY": box.uid_validity,
        "UNSEEN": current.unseen,
        "DELETED": current.deleted,
        "SIZE": current.size,
        "RECENT": await _recent_count(ctx, box) if "RECENT" in items else 0,
        "HIGHESTMODSEQ": box.highest_modseq,
        "APPENDLIMIT": ctx.session.settings.limits.max_literal,
        "MAILBOXID": [Atom(f"F{box.id}")],
    }
    return StatusData(wire_name, tuple((item, values[item]) for item in items))


async def _recent_count(ctx: Ctx, mailbox: Mailbox) -> int:
    """Messages a SELECT now would see as \\Recent: those above the claimed mark
    (RFC 3501 §6.3.10), without claiming them."""
    key = (mailbox.id, mailbox.uid_validity)
    tracker = ctx.services.recent
    mark = tracker.known(key)
    if mark is None:
        listed = await ctx.mail.messages(ctx.actor, mailbox.id)
        mark = tracker.mark(key, listed)
        return sum(1 for message in listed if message.uid > mark)
    return len(await ctx.mail.messages(ctx.actor, mailbox.id, since_uid=UID(mark)))


async def namespace(ctx: Ctx, command: m.Namespace) -> Done:
    await ctx.emit(NamespaceData((("", DELIMITER),), ((OTHER_USERS, DELIMITER),),
                                 ((SHARED, DELIMITER),)))
    return Done("OK", "NAMESPACE completed")
