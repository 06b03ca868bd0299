"""LIST and LSUB with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE
(RFC 6154), CHILDREN (RFC 3348) and the other users' / shared namespaces (RFC 2342)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.mailboxes import STATUS_ITEMS, role_attribute, status_data
from tidings.imap.commands.names import DELIMITER, OTHER_USERS, SHARED, namespace_of
from tidings.imap.responses import ListData
from tidings.model.errors import NotFound, TidingsError
from tidings.model.mail import Mailbox


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # full Unicode name as the client sees it
    mailbox: Mailbox | None  # None: a namespace node (\Noselect)


async def all_entries(ctx: Ctx) -> list[Entry]:
    """Every name the actor can see: own mailboxes, then other accounts'."""
    own = sorted(await ctx.mail.list_mailboxes(ctx.actor, ctx.account),
                 key=lambda b: (b.name.upper() != "INBOX", b.name))
    entries = [Entry(b.name, b) for b in own]
    namespaces: set[str] = set()
    for account, address in await ctx.mail.accessible_accounts(ctx.actor):
        if account == ctx.account:
            continue
        namespace = await namespace_of(ctx, address)
        try:
            boxes = await ctx.mail.list_mailboxes(ctx.actor, account)
        except TidingsError:
            continue
        if not boxes:
            continue
        if namespace not in namespaces:
            namespaces.add(namespace)
            entries.append(Entry(namespace.rstrip(DELIMITER), None))
        entries.append(Entry(namespace + address, None))
        entries += [Entry(f"{namespace}{address}{DELIMITER}{b.name}", b)
                    for b in sorted(boxes, key=lambda b: b.name)]
    return entries


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """RFC 9051 §6.3.9: "*" matches anything, "%" anything but the delimiter."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "%":
            parts.append(f"[^{re.escape(DELIMITER)}]*")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _matches(regexes: list[re.Pattern[str]], name: str) -> bool:
    candidates = [name]
    if name.upper().startswith("INBOX"):
        candidates.append("inbox" + name[5:])
        candidates.append("INBOX" + name[5:])
    return any(rx.fullmatch(c) for rx in regexes for c in candidates)


def _attributes(entry: Entry, names: set[str], subscribed: bool, extended: bool) -> list[str]:
    attrs: list[str] = []
    children = any(n.startswith(entry.name + DELIMITER) for n in names)
    if entry.mailbox is None:
        attrs.append("\\Noselect")
    attrs.append("\\HasChildren" if children else "\\HasNoChildren")
    if entry.mailbox is not None:
        use = role_attribute(entry.mailbox.role)
        if use:
            attrs.append(use)
        if subscribed and entry.mailbox.subscribed:
            attrs.append("\\Subscribed")
    return attrs


async def list_mailboxes(ctx: Ctx, command: m.List) -> Done:
    unknown_status = [i for i in command.status_items or () if i not in STATUS_ITEMS]
    if unknown_status:
        raise CommandError("BAD", f"Unknown STATUS item {unknown_status[0]}")
    try:
        reference = ctx.session.mailbox_name(command.reference)
        patterns = [ctx.session.mailbox_name(p) for p in command.patterns]
    except ValueError as exc:
        raise CommandError("BAD", "Pattern is not valid modified UTF-7") from exc
    if not command.extended and not command.lsub and patterns == [""]:
        # RFC 9051 §6.3.9: an empty pattern asks for the delimiter and root.
        await ctx.emit(ListData(("\\Noselect",), DELIMITER, ""))
        return Done("OK", "LIST completed")
    regexes = [pattern_regex(reference + p) for p in patterns]
    entries = await all_entries(ctx)
    names = {e.name for e in entries}
    only_subscribed = command.lsub or "SUBSCRIBED" in command.selection
    recursive = "RECURSIVEMATCH" in command.selection
    show_subscribed = only_subscribed or "SUBSCRIBED" in command.returns
    subscribed_names = {e.name for e in entries if e.mailbox and e.mailbox.subscribed}
    for entry in entries:
        if not _matches(regexes, entry.name):
            continue
        child_info: tuple[str, ...] = ()
        if only_subscribed and entry.name not in subscribed_names:
            if not (recursive and any(n.startswith(entry.name + DELIMITER)
                                      for n in subscribed_names)):
                continue
            child_info = ("SUBSCRIBED",)
        if "SPECIAL-USE" in command.selection and (
                entry.mailbox is None or role_attribute(entry.mailbox.role) is None):
            continue
        attrs = _attributes(entry, names, show_subscribed, command.extended)
        if command.lsub:
            attrs = [a for a in attrs if a.startswith("\\No")]
        wire = ctx.session.wire_name(entry.name)
        await ctx.emit(ListData(tuple(attrs), DELIMITER, wire, child_info, command.lsub))
        if command.status_items and entry.mailbox is not None:
            try:
                await ctx.emit(await status_data(ctx, entry.mailbox, command.status_items, wire))
            except NotFound:
                continue
    return Done("OK", f"{'LSUB' if command.lsub else 'LIST'} completed")


__all__ = ["OTHER_USERS", "SHARED", "all_entries", "list_mailboxes", "pattern_regex"]
