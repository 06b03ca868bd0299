"""APPEND with MULTIAPPEND (RFC 3502), UIDPLUS APPENDUID (RFC 4315) and literal8
(RFC 3516); OK only after the store's commit (STYLE.md §4)."""

from __future__ import annotations

from datetime import UTC, datetime

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.names import find
from tidings.imap.responses import Code
from tidings.imap.sequence import compress
from tidings.mime.index import parse_headers_for_store
from tidings.model.mail import normalize_keyword
from tidings.store.services import NewMessage, ParsedHeaders


def parsed_headers(raw: bytes) -> ParsedHeaders:
    """What the store indexes about a message, from mime's summary."""
    s = parse_headers_for_store(raw)
    return ParsedHeaders(
        date=s.date, subject=s.subject, from_=s.from_, sender=s.sender, reply_to=s.reply_to,
        to=s.to, cc=s.cc, bcc=s.bcc, message_id=s.message_id, in_reply_to=s.in_reply_to,
        references=s.references, text=s.text, base_subject=s.base_subject,
    )


async def append(ctx: Ctx, command: m.Append) -> Done:
    try:
        _located, mailbox = await find(ctx, command.mailbox)
    except CommandError as exc:
        if exc.done.code is not None and exc.done.code.name == "NONEXISTENT":
            raise CommandError("NO", "No such mailbox; create it first", "TRYCREATE") from exc
        raise
    new: list[NewMessage] = []
    for item in command.messages:
        blob = await ctx.services.blobs.put(item.data)
        flags = frozenset(normalize_keyword(f) for f in item.flags if f.lower() != "\\recent")
        received = item.internal_date or datetime.now(UTC)
        new.append(NewMessage(mailbox.id, blob, parsed_headers(item.data), flags, received))
    if len(new) == 1:
        appended = [await ctx.mail.append(ctx.actor, new[0])]
    else:
        appended = list(await ctx.mail.append_many(ctx.actor, new))
    uids = compress(a.uid for a in appended)
    code = Code("APPENDUID", f"{appended[0].uid_validity} {uids}")
    return Done("OK", "APPEND completed", code)
