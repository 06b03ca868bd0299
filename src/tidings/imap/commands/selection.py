"""SELECT/EXAMINE (+CONDSTORE/QRESYNC), CLOSE, UNSELECT, EXPUNGE, CHECK, NOOP
(RFC 9051 §6.3.2-3, §6.4.1-3; RFC 7162 §3.2.5; RFC 3691; RFC 4315)."""

from __future__ import annotations

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.names import find
from tidings.imap.commands.sync import sync
from tidings.imap.responses import Code, CountData, FetchData, FlagsData, Untagged, VanishedData
from tidings.imap.sequence import compress
from tidings.imap.snapshot import Snapshot
from tidings.imap.view import MailboxView
from tidings.model.acl import ALL_RIGHTS, Right
from tidings.model.changes import ChangeOp, ObjectKind
from tidings.model.errors import Conflict
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import SEEN, SYSTEM_FLAGS, Mailbox, Message
from tidings.store.services import MessageChanges

_SNAPSHOT_SLACK = 50  # changes a new session may replay on top of a shared snapshot
_WRITE_RIGHTS = frozenset({Right.WRITE, Right.SEEN, Right.DELETE_MESSAGES, Right.EXPUNGE})


def mailbox_flags(messages: list[Message] | tuple[Message, ...]) -> tuple[str, ...]:
    """System flags plus every keyword in use (RFC 9051 §7.3.5 FLAGS)."""
    keywords = {f for msg in messages for f in msg.flags if not f.startswith("\\")}
    return tuple(sorted(SYSTEM_FLAGS)) + tuple(sorted(keywords))


async def select(ctx: Ctx, command: m.Select) -> Done:
    session = ctx.session
    if session.view is not None:
        session.unselect()
        if session.rev2 or "QRESYNC" in session.enabled:
            await ctx.emit(Untagged("OK", "Previous mailbox is now closed", Code("CLOSED")))
    _located, mailbox = await find(ctx, command.mailbox)
    rights = await _rights(ctx, mailbox)
    readonly = command.readonly or not (rights & _WRITE_RIGHTS)
    qresync = "QRESYNC" in session.enabled
    condstore = command.condstore or "CONDSTORE" in session.enabled or qresync
    snapshot, changes = await _snapshot(ctx, mailbox)
    view = MailboxView.from_snapshot(mailbox, snapshot, readonly=readonly, condstore=condstore,
                                     qresync=qresync)
    # Catch up from the shared snapshot silently: the client gets the result below.
    view.apply_changes(changes.changed, changes.expunged, allow_expunge=True, rev2=True)
    view.account_modseq = changes.highest_modseq
    messages = [view.messages[uid] for uid in view.uids]
    if not session.rev2:
        key = (mailbox.id, mailbox.uid_validity)
        tracker = ctx.services.recent
        # EXAMINE shows \Recent without taking it from other sessions (RFC 3501 §6.3.2).
        floor = tracker.mark(key, messages) if readonly else tracker.claim(key, messages)
        view.recent = {uid for uid in view.uids if uid > floor}
    await _announce(ctx, view, messages, rights)
    if command.qresync is not None and command.qresync.uid_validity == mailbox.uid_validity:
        await _resync(ctx, view, command.qresync)
    session.select(view)
    code = "READ-ONLY" if readonly else "READ-WRITE"
    return Done("OK", f"{'EXAMINE' if command.readonly else 'SELECT'} completed", Code(code))


async def _rights(ctx: Ctx, mailbox: Mailbox) -> frozenset[Right]:
    """The actor's rights; the owner of the account has them all (as the store's one
    authorization check says), which spares a read on the common path."""
    if int(mailbox.account_id) == int(ctx.actor.id):
        return ALL_RIGHTS
    return await ctx.mail.my_rights(ctx.actor, mailbox.id)


async def _snapshot(ctx: Ctx, mailbox: Mailbox) -> tuple[Snapshot, MessageChanges]:
    """The shared snapshot to start from and the changes since it; a fresh snapshot
    when there is none yet, the log was pruned or the changes are many."""
    key = (mailbox.id, ctx.actor.id)
    snapshot = ctx.services.snapshots.get(key)
    if snapshot is not None and snapshot.uid_validity == mailbox.uid_validity:
        try:
            changes = await ctx.mail.messages_changed_since(
                ctx.actor, mailbox.id, ModSeq(snapshot.account_modseq))
        except Conflict:
            pass
        else:
            replay = len(changes.changed) + len(changes.expunged)
            if replay <= max(_SNAPSHOT_SLACK, len(snapshot.uids) // 10):
                return snapshot, changes
    highest = await ctx.mail.highest_modseq(ctx.actor, mailbox.account_id)
    messages = await ctx.mail.messages(ctx.actor, mailbox.id)
    snapshot = Snapshot.build(mailbox.uid_validity, highest, messages)
    ctx.services.snapshots.put(key, snapshot)
    return snapshot, MessageChanges(highest, (), ())


async def _announce(ctx: Ctx, view: MailboxView, messages: list[Message],
                    rights: frozenset[Right]) -> None:
    mailbox = view.mailbox
    flags = mailbox_flags(messages)
    await ctx.emit(FlagsData(flags))
    await ctx.emit(CountData(len(messages), "EXISTS"))
    if not ctx.session.rev2:
        await ctx.emit(CountData(len(view.recent), "RECENT"))
        first_unseen = next((i for i, msg in enumerate(messages, 1) if SEEN not in msg.flags),
                            None)
        if first_unseen is not None:
            await ctx.emit(Untagged("OK", "First unseen", Code("UNSEEN", str(first_unseen))))
    permanent = " ".join(f for f in flags) + (" \\*" if Right.WRITE in rights else "")
    if view.readonly:
        permanent = ""
    await ctx.emit(Untagged("OK", "Flags permitted", Code("PERMANENTFLAGS", f"({permanent})")))
    await ctx.emit(Untagged("OK", "UIDs valid", Code("UIDVALIDITY", str(mailbox.uid_validity))))
    # The mailbox row may predate the newest message the view caught up with.
    uid_next = max(mailbox.uid_next, (view.uids[-1] + 1) if view.uids else 1)
    await ctx.emit(Untagged("OK", "Predicted next UID", Code("UIDNEXT", str(uid_next))))
    await ctx.emit(Untagged("OK", "Highest", Code("HIGHESTMODSEQ", str(view.highest_modseq))))
    await ctx.emit(Untagged("OK", "Ok", Code("MAILBOXID", f"(F{mailbox.id})")))


async def _resync(ctx: Ctx, view: MailboxView, params: m.QResyncParams) -> None:
    """RFC 7162 §3.2.5.1: VANISHED (EARLIER) for expunges since the client's modseq,
    then FETCH for every message changed since then."""
    vanished = await vanished_since(ctx, view, ModSeq(params.modseq))
    if params.known_uids is not None:
        largest = max([*vanished, *view.uids], default=0)
        vanished = [u for u in vanished if params.known_uids.contains(u, largest)]
    if vanished:
        await ctx.emit(VanishedData(compress(vanished), earlier=True))
    for seq, uid in enumerate(view.uids, 1):
        message = view.messages[uid]
        if message.modseq > params.modseq:
            await ctx.emit(FetchData(seq, view.flag_items(message, send_uid=True)))


async def vanished_since(ctx: Ctx, view: MailboxView, modseq: ModSeq) -> list[UID]:
    """UIDs expunged from the mailbox after `modseq`, from the change log; if the log
    was pruned, every UID below UIDNEXT that is not present (RFC 7162 §3.2.5.1)."""
    mailbox = view.mailbox
    try:
        batch = await ctx.mail.changes_since(ctx.actor, mailbox.account_id, modseq)
        changes = batch.changes
    except Conflict:
        present = set(view.uids)
        return [UID(u) for u in range(1, mailbox.uid_next) if u not in present][:100000]
    present = set(view.uids)
    return sorted({
        UID(c.uid) for c in changes
        if c.kind is ObjectKind.EMAIL and c.op is ChangeOp.DESTROYED
        and c.collection_id == mailbox.id and c.uid is not None and c.uid not in present
    })  # fmt: skip


async def close(ctx: Ctx, command: m.Close) -> Done:
    view = _view(ctx)
    if not view.readonly:
        # RFC 9051 §6.4.1: expunge silently, no EXPUNGE responses.
        await ctx.mail.expunge(ctx.actor, view.mailbox.id)
    ctx.session.unselect()
    return Done("OK", "CLOSE completed")


async def unselect(ctx: Ctx, command: m.Unselect) -> Done:
    ctx.session.unselect()
    return Done("OK", "UNSELECT completed")


async def expunge(ctx: Ctx, command: m.Expunge) -> Done:
    view = _view(ctx)
    if view.readonly:
        raise CommandError("NO", "Mailbox is read-only", "READ-ONLY")
    uids: list[UID] | None = None
    if command.uids is not None:
        uids = [msg.uid for _seq, msg in view.resolve(command.uids, uid=True)]
    removed = await ctx.mail.expunge(ctx.actor, view.mailbox.id, uids)
    for response in view.flush_expunges(removed):
        await ctx.emit(response)
    highest = view.highest_modseq
    return Done("OK", "EXPUNGE completed", Code("HIGHESTMODSEQ", str(highest))
                if view.condstore else None)


async def noop(ctx: Ctx, command: m.Noop | m.Check) -> Done:
    await sync(ctx, allow_expunge=True)
    return Done("OK", f"{type(command).__name__.upper()} completed")


def _view(ctx: Ctx) -> MailboxView:
    view = ctx.session.view
    if view is None:
        raise CommandError("BAD", "No mailbox selected")
    return view
