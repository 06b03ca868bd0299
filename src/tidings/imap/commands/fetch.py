"""FETCH / UID FETCH with every item (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY;
RFC 7162 CHANGEDSINCE/VANISHED/MODSEQ; RFC 8474 EMAILID/THREADID; RFC 8514 SAVEDATE)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.selection import vanished_since
from tidings.imap.envelope_cache import EnvelopeCache
from tidings.imap.grammar_search import MONTHS
from tidings.imap.responses import FetchData, VanishedData
from tidings.imap.sequence import compress
from tidings.imap.view import BadSequence, MailboxView, flag_atoms
from tidings.imap.wire import Atom, Literal8, Raw, Value, encode_value
from tidings.mime import imap_views, sections
from tidings.mime.headers import Headers, find_body_start, parse_headers
from tidings.mime.structure import Part, parse_message
from tidings.model.ids import UID, ModSeq
from tidings.model.mail import SEEN, FlagOperation, Message

_NEEDS_BLOB = frozenset({"ENVELOPE", "BODY", "BODYSTRUCTURE", "BINARY", "BINARY.SIZE", "RFC822",
                         "RFC822.HEADER", "RFC822.TEXT"})
BATCH = 256  # messages per blob read (bounds memory on FETCH 1:* BODY[])
_SETS_SEEN = frozenset({"RFC822", "RFC822.TEXT"})


_MONTH_NAMES = tuple(month.title() for month in MONTHS)


def format_internal_date(moment: datetime) -> str:
    """RFC 9051 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    # Plain integer formatting: strftime is the slow part of FETCH 1:* INTERNALDATE.
    return (f"{moment.day:02d}-{_MONTH_NAMES[moment.month - 1]}-{moment.year:04d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


@lru_cache(maxsize=4096)
def _flags_bytes(flags: frozenset[str], recent: bool) -> Raw:
    """FLAGS values repeat across messages: encode each distinct set once."""
    return Raw(encode_value(flag_atoms(flags, recent)))


def _sets_seen(attribute: m.FetchAttribute) -> bool:
    if attribute.name in _SETS_SEEN:
        return True
    return attribute.name in ("BODY", "BINARY") and attribute.section is not None and \
        not attribute.peek


async def fetch(ctx: Ctx, command: m.Fetch) -> Done:
    view = ctx.session.view
    assert view is not None
    try:
        targets = view.resolve(command.sequence, uid=command.uid)
    except BadSequence as exc:
        raise CommandError("BAD", str(exc)) from exc
    attributes = list(command.attributes)
    names = {a.name for a in attributes}
    if "MODSEQ" in names or command.changed_since is not None:
        view.condstore = True  # RFC 7162 §3.1: a CONDSTORE enabling command
    if command.changed_since is not None:
        targets = [(s, msg) for s, msg in targets if msg.modseq > command.changed_since]
        if "MODSEQ" not in names:
            attributes.append(m.FetchAttribute("MODSEQ"))
    if command.vanished and command.changed_since is not None:
        await _vanished(ctx, view, command)
    mark_seen = not view.readonly and any(_sets_seen(a) for a in attributes)
    needs_blob = any(a.name in _NEEDS_BLOB and a.name != "ENVELOPE" for a in attributes)
    envelope = any(a.name == "ENVELOPE" for a in attributes)
    cache = ctx.services.envelopes
    for start in range(0, len(targets), BATCH):
        batch = targets[start : start + BATCH]
        wanted = {msg.uid for _seq, msg in batch
                  if needs_blob or (envelope and msg.blob_id not in cache)}
        blobs: dict[UID, bytes] = {}
        if wanted:
            # One authorization check and one query per batch, not per message.
            blobs = dict(await ctx.mail.read_message_blobs(ctx.actor, view.mailbox.id,
                                                           sorted(wanted)))
        seen_now = await _mark_seen(ctx, view, batch) if mark_seen else {}
        for seq, message in batch:
            message = seen_now.get(message.uid, message)
            raw = blobs.get(message.uid)
            if raw is None and message.uid in wanted:
                continue  # expunged meanwhile (RFC 9051 §7.5.1 allows sending nothing)
            content = None if raw is None else Content(raw)
            items = _items(view, message, attributes, command.uid, message.uid in seen_now,
                           content, cache)
            await ctx.emit(FetchData(seq, items))
    return Done("OK", f"{'UID ' if command.uid else ''}FETCH completed")


async def _vanished(ctx: Ctx, view: MailboxView, command: m.Fetch) -> None:
    gone = await vanished_since(ctx, view, ModSeq(command.changed_since or 0))
    largest = max([*gone, *view.uids], default=0)
    chosen = [u for u in gone if command.sequence.contains(u, largest)]
    if chosen:
        await ctx.emit(VanishedData(compress(chosen), earlier=True))


async def _mark_seen(ctx: Ctx, view: MailboxView, batch: list[tuple[int, Message]]
                     ) -> dict[UID, Message]:
    """Set \\Seen on the batch's unseen messages in one STORE; the updated messages."""
    unseen = [msg.uid for _seq, msg in batch if SEEN not in msg.flags]
    if not unseen:
        return {}
    changed, _failed = await ctx.mail.store_flags(ctx.actor, view.mailbox.id, unseen,
                                                  FlagOperation.ADD, frozenset({SEEN}))
    for updated in changed:
        view.update_message(updated)
    return {updated.uid: updated for updated in changed}


class Content:
    """A message's bytes, parsed only as far as the FETCH items need: the header
    block for ENVELOPE, the whole part tree for BODYSTRUCTURE and sections."""

    __slots__ = ("_headers", "_tree", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._tree: Part | None = None
        self._headers: Headers | None = None

    @property
    def tree(self) -> Part:
        if self._tree is None:
            self._tree = parse_message(self.raw)
        return self._tree

    @property
    def headers(self) -> Headers:
        if self._tree is not None:
            return self._tree.headers
        if self._headers is None:
            # The same header block parse_message would read for the top-level part.
            self._headers = parse_headers(self.raw, 0, find_body_start(self.raw)[0])
        return self._headers


def _items(view: MailboxView, message: Message, attributes: list[m.FetchAttribute], uid: bool,
           with_flags: bool, content: Content | None, cache: EnvelopeCache
           ) -> tuple[tuple[str, Value], ...]:
    items: list[tuple[str, Value]] = []
    if uid:
        items.append(("UID", message.uid))
    for attribute in attributes:
        if attribute.name == "UID" and uid:
            continue
        if attribute.name == "ENVELOPE":
            items.append(("ENVELOPE", _envelope(message, content, cache)))
        else:
            items.append(_item(view, message, attribute, content))
    if with_flags and not any(a.name == "FLAGS" for a in attributes):
        items.append(("FLAGS", flag_atoms(message.flags, message.uid in view.recent)))
    return tuple(items)


def _envelope(message: Message, content: Content | None, cache: EnvelopeCache) -> Raw:
    """The ENVELOPE's wire bytes: from the cache, else parsed from the header block."""
    encoded = cache.get(message.blob_id)
    if encoded is None:
        assert content is not None
        encoded = encode_value(_sexp(imap_views.envelope(content.headers).as_tuple()))
        cache.put(message.blob_id, encoded)
    return Raw(encoded)


def _item(view: MailboxView, message: Message, attribute: m.FetchAttribute,
          content: Content | None) -> tuple[str, Value]:
    name = attribute.name
    match name:
        case "UID":
            return name, message.uid
        case "FLAGS":
            return name, _flags_bytes(message.flags, message.uid in view.recent)
        case "INTERNALDATE":
            # Always printable ASCII without quotes or backslashes: a quoted string.
            return name, Raw(b'"%s"' % format_internal_date(message.received_at).encode())
        case "RFC822.SIZE":
            return name, message.size
        case "MODSEQ":
            return name, [message.modseq]
        case "EMAILID":
            return name, [Atom(f"M{message.email_id}")]
        case "THREADID":
            return name, [Atom(f"T{message.thread_id}")]
        case "SAVEDATE":
            return name, format_internal_date(message.saved_at)
    assert content is not None
    return _content_item(attribute, content.raw, content.tree)


def _content_item(attribute: m.FetchAttribute, raw: bytes, tree: Part) -> tuple[str, Value]:
    name = attribute.name
    match name:
        case "BODYSTRUCTURE":
            return name, body_value(imap_views.body_structure(tree))
        case "BODY" if attribute.section is None:
            return name, body_value(imap_views.body(tree))
        case "RFC822":
            return name, raw
        case "RFC822.HEADER":
            return name, sections.section_bytes(raw, sections.Section(text="HEADER"), tree) or b""
        case "RFC822.TEXT":
            return name, sections.section_bytes(raw, sections.Section(text="TEXT"), tree) or b""
        case "BINARY.SIZE":
            section = attribute.section or m.Section()
            size = sections.binary_size(raw, section.part, tree)
            if isinstance(size, sections.UnknownCTE):
                raise CommandError("NO", "Unknown Content-Transfer-Encoding", "UNKNOWN-CTE")
            return f"BINARY.SIZE[{section.render()}]", size
        case "BINARY":
            return _binary(attribute, raw, tree)
    return _body_section(attribute, raw, tree)


def _body_section(attribute: m.FetchAttribute, raw: bytes, tree: Part) -> tuple[str, Value]:
    section = attribute.section or m.Section()
    spec = sections.Section(section.part, section.text, section.fields)
    data = sections.section_bytes(raw, spec, tree) or b""
    label = f"BODY[{section.render()}]"
    if attribute.partial is not None:
        start, length = attribute.partial
        data = data[start : start + length]
        label += f"<{start}>"
    return label, data


def _binary(attribute: m.FetchAttribute, raw: bytes, tree: Part) -> tuple[str, Value]:
    section = attribute.section or m.Section()
    data = sections.binary_bytes(raw, section.part, tree)
    if isinstance(data, sections.UnknownCTE):
        raise CommandError("NO", "Unknown Content-Transfer-Encoding", "UNKNOWN-CTE")
    label = f"BINARY[{section.render()}]"
    if data is None:
        return label, None
    if attribute.partial is not None:
        start, length = attribute.partial
        data = data[start : start + length]
        label += f"<{start}>"
    return label, Literal8(data) if b"\x00" in data else data


def body_value(structure: imap_views.BodyStructure) -> Value:
    """BODY/BODYSTRUCTURE on the wire. RFC 9051 §9: `body-type-mpart = 1*body SP
    media-subtype`: a multipart's parts follow each other with no space between."""
    if isinstance(structure, imap_views.Multipart):
        fields = structure.as_tuple()
        assert isinstance(fields, tuple)
        parts = b"".join(encode_value(body_value(part)) for part in structure.parts)
        rest = b" ".join(encode_value(_sexp(v)) for v in fields[len(structure.parts) :])
        return Raw(b"(" + parts + b" " + rest + b")")
    fields = structure.as_tuple()
    assert isinstance(fields, tuple)
    if structure.envelope is not None and structure.body is not None:
        # message/rfc822: the nested body may itself be a multipart.
        head = [_sexp(v) for v in fields[:7]]
        tail = [_sexp(v) for v in fields[9:]]
        return [*head, _sexp(structure.envelope.as_tuple()), body_value(structure.body), *tail]
    return _sexp(fields)


def _sexp(value: imap_views.Sexp) -> Value:
    """mime's nested tuples are already IMAP-shaped: str/int/None/tuple."""
    if isinstance(value, tuple):
        return [_sexp(v) for v in value]
    return value
