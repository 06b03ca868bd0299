"""STORE (+UNCHANGEDSINCE, RFC 7162 §3.1.3), COPY and MOVE (RFC 9051 §6.4.6-8, RFC 6851,
UIDPLUS COPYUID RFC 4315)."""

from __future__ import annotations

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.names import find
from tidings.imap.responses import Code, FetchData, Untagged
from tidings.imap.sequence import SequenceSet, compress
from tidings.imap.view import BadSequence, MailboxView
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import Message, normalize_keyword


def _targets(view: MailboxView, sequence: SequenceSet, uid: bool) -> list[tuple[int, Message]]:
    try:
        return view.resolve(sequence, uid=uid)
    except BadSequence as exc:
        raise CommandError("BAD", str(exc)) from exc


async def store(ctx: Ctx, command: m.Store) -> Done:
    view = ctx.session.view
    assert view is not None
    if view.readonly:
        raise CommandError("NO", "Mailbox is read-only", "READ-ONLY")
    targets = _targets(view, command.sequence, command.uid)
    if command.unchanged_since is not None:
        view.condstore = True
    flags = frozenset(normalize_keyword(f) for f in command.flags if f.lower() != "\\recent")
    uids = [msg.uid for _seq, msg in targets if not view.is_expunged(msg.uid)]
    unchanged = None if command.unchanged_since is None else ModSeq(command.unchanged_since)
    changed, failed = await ctx.mail.store_flags(ctx.actor, view.mailbox.id, uids,
                                                 command.operation, flags, unchanged)
    changed_by_uid = {msg.uid: msg for msg in changed}
    failed_set = set(failed)
    for seq, message in targets:
        if message.uid in failed_set:
            continue
        current = changed_by_uid.get(message.uid)
        if current is not None:
            view.update_message(current)
        elif command.silent:
            continue
        current = current or message
        # RFC 7162 §3.1.3: under CONDSTORE a silent STORE still reports the new MODSEQ.
        if command.silent and not view.condstore:
            continue
        items = view.flag_items(current, send_uid=command.uid)
        if command.silent:
            items = tuple(i for i in items if i[0] != "FLAGS")
        await ctx.emit(FetchData(seq, items))
    code = None
    if failed:
        numbers = failed if command.uid else [view.seq_of(u) or 0 for u in failed]
        code = Code("MODIFIED", compress(numbers))
    return Done("OK", f"{'UID ' if command.uid else ''}STORE completed", code)


async def copy(ctx: Ctx, command: m.Copy) -> Done:
    view = ctx.session.view
    assert view is not None
    if command.move and view.readonly:
        raise CommandError("NO", "Mailbox is read-only", "READ-ONLY")
    targets = _targets(view, command.sequence, command.uid)
    try:
        _located, target = await find(ctx, command.mailbox)
    except CommandError as exc:
        if exc.done.code is not None and exc.done.code.name == "NONEXISTENT":
            raise CommandError("NO", "No such mailbox; create it first", "TRYCREATE") from exc
        raise
    uids: list[UID] = [msg.uid for _seq, msg in targets if not view.is_expunged(msg.uid)]
    verb = ("UID " if command.uid else "") + ("MOVE" if command.move else "COPY")
    if not uids:
        return Done("OK", f"{verb} completed (no messages)")
    if command.move:
        moved = await ctx.mail.move(ctx.actor, view.mailbox.id, uids, target.id)
    else:
        moved = await ctx.mail.copy(ctx.actor, view.mailbox.id, uids, target.id)
    code = Code("COPYUID", f"{moved.uid_validity} {compress(moved.source_uids)} "
                           f"{compress(moved.target_uids)}")
    if not command.move:
        return Done("OK", f"{verb} completed", code)
    # RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
    await ctx.emit(Untagged("OK", "Moved", code))
    for response in view.flush_expunges(moved.source_uids):
        await ctx.emit(response)
    return Done("OK", f"{verb} completed")
