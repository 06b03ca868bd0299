"""SEARCH, SORT and THREAD (RFC 9051 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182,
RFC 5256); BODY/TEXT come from the store's full-text index."""

from __future__ import annotations

from datetime import UTC, datetime

from tidings.imap import commands_model as m
from tidings.imap import threads
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.responses import ESearchData, SearchData, ThreadData
from tidings.imap.search_eval import (
    Candidate,
    SearchScope,
    has_modseq,
    matches,
    needs_headers,
    required_uids,
    walk,
)
from tidings.imap.search_model import SearchKey, SearchText
from tidings.imap.sequence import compress
from tidings.imap.view import MailboxView
from tidings.mime.headers import find_body_start, parse_headers
from tidings.model.ids import UID

HEADER_BATCH = 256  # messages whose bytes are read at once for header keys, SORT, THREAD
_RETURNS = frozenset({"MIN", "MAX", "COUNT", "ALL", "SAVE"})
_SORT_RETURNS = frozenset({"MIN", "MAX", "COUNT", "ALL"})
_THREADS = frozenset({"ORDEREDSUBJECT", "REFERENCES"})


async def _candidates(ctx: Ctx, view: MailboxView, key: SearchKey | None, *, headers: bool
                      ) -> tuple[list[Candidate], SearchScope]:
    scope = SearchScope(
        exists=view.exists, largest_uid=view.uids[-1] if view.uids else 0,
        now=datetime.now(UTC), saved=frozenset(view.saved), recent=frozenset(view.recent),
    )
    if key is not None:
        for text_key in {k for k in walk(key) if isinstance(k, SearchText)}:
            hits = await ctx.mail.search_text(ctx.actor, view.mailbox.id, text_key.value,
                                              field=text_key.field)
            scope.text_hits[text_key] = frozenset(hits)
    pairs = list(enumerate(view.uids, 1))
    required = required_uids(key, scope.text_hits) if key is not None else None
    if required is not None:  # the full-text index already ruled the others out
        pairs = [(seq, uid) for seq, uid in pairs if uid in required]
    items: list[Candidate] = []
    for start in range(0, len(pairs), HEADER_BATCH):
        chunk = pairs[start : start + HEADER_BATCH]
        blobs: dict[UID, bytes] = {}
        if headers:
            # One authorization check and one query per batch, not per message.
            blobs = dict(await ctx.mail.read_message_blobs(
                ctx.actor, view.mailbox.id, [uid for _seq, uid in chunk]))
        for seq, uid in chunk:
            parsed = None
            if headers:
                raw = blobs.get(uid, b"")  # expunged meanwhile: matches no header key
                parsed = parse_headers(raw, 0, find_body_start(raw)[0])
            items.append(Candidate(seq, view.messages[uid], parsed))
    return items, scope


async def search(ctx: Ctx, command: m.Search) -> Done:
    view = ctx.session.view
    assert view is not None
    returns = command.returns
    if returns is not None and any(r not in _RETURNS for r in returns):
        raise CommandError("BAD", "Unknown RETURN option")
    items, scope = await _candidates(ctx, view, command.key, headers=needs_headers(command.key))
    found = [i for i in items if matches(command.key, i, scope)]
    numbers = [i.message.uid if command.uid else i.seq for i in found]
    modseq = max((i.message.modseq for i in found), default=None) if has_modseq(
        command.key) else None
    if modseq is not None:
        view.condstore = True
    if returns is not None and "SAVE" in returns:
        view.saved = tuple(UID(i.message.uid) for i in found)
    verb = f"{'UID ' if command.uid else ''}SEARCH completed"
    if returns is None and not ctx.session.rev2:
        await ctx.emit(SearchData(tuple(numbers), modseq))
        return Done("OK", verb)
    wanted = set(returns or ("ALL",)) or {"ALL"}
    if wanted == {"SAVE"}:
        return Done("OK", verb)  # RFC 5182 §2.4: SAVE alone returns no ESEARCH
    wanted.discard("SAVE")
    await ctx.emit(ESearchData(command.tag, command.uid, _esearch_items(numbers, wanted,
                                                                         modseq)))
    return Done("OK", verb)


def _esearch_items(numbers: list[int], wanted: set[str], modseq: int | None
                   ) -> tuple[tuple[str, int | str], ...]:
    out: list[tuple[str, int | str]] = []
    if numbers and "MIN" in wanted:
        out.append(("MIN", min(numbers)))
    if numbers and "MAX" in wanted:
        out.append(("MAX", max(numbers)))
    if numbers and "ALL" in wanted:
        out.append(("ALL", compress(numbers)))
    if "COUNT" in wanted:
        out.append(("COUNT", len(numbers)))
    if modseq is not None and numbers:
        out.append(("MODSEQ", modseq))
    return tuple(out)


async def _sort_facts(ctx: Ctx, command: m.Sort | m.Thread) -> list[threads.SortFacts]:
    if command.charset.upper() not in ("UTF-8", "US-ASCII"):
        raise CommandError("NO", "Unsupported charset", "BADCHARSET")
    view = ctx.session.view
    assert view is not None
    items, scope = await _candidates(ctx, view, command.key, headers=True)
    found = [i for i in items if matches(command.key, i, scope)]
    return [
        threads.facts(i.message.uid if command.uid else i.seq, i.message.received_at,
                        i.message.size, i.headers or parse_headers(b""))
        for i in found
    ]


async def sort(ctx: Ctx, command: m.Sort) -> Done:
    unknown = [name for _rev, name in command.criteria if name not in threads.SORT_KEYS]
    if unknown:
        raise CommandError("BAD", f"Unknown sort criterion {unknown[0]}")
    returns = command.returns
    if returns is not None and any(r not in _SORT_RETURNS for r in returns):
        raise CommandError("BAD", "Unknown RETURN option for SORT")
    ordered = threads.sort(await _sort_facts(ctx, command), command.criteria)
    if returns is None:
        await ctx.emit(SearchData(tuple(ordered), kind="SORT"))
    else:
        await ctx.emit(ESearchData(command.tag, command.uid, _esort_items(ordered, returns)))
    return Done("OK", f"{'UID ' if command.uid else ''}SORT completed")


def _esort_items(ordered: list[int], returns: tuple[str, ...]
                 ) -> tuple[tuple[str, int | str], ...]:
    """ESORT (RFC 5267 §3.2): MIN and MAX are the first and last in sort order, ALL is
    the whole result in sort order; RETURN () means ALL."""
    wanted = set(returns) or {"ALL"}
    out: list[tuple[str, int | str]] = []
    if ordered and "MIN" in wanted:
        out.append(("MIN", ordered[0]))
    if ordered and "MAX" in wanted:
        out.append(("MAX", ordered[-1]))
    if ordered and "ALL" in wanted:
        out.append(("ALL", sorted_set(ordered)))
    if "COUNT" in wanted:
        out.append(("COUNT", len(ordered)))
    return tuple(out)


def sorted_set(numbers: list[int]) -> str:
    """A sequence-set that keeps the given order: only ascending runs of consecutive
    numbers become ranges ("3,7:9,1"), so a reader expanding ranges upward gets it back."""
    parts: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        if number is not None:
            start = previous = number
    return ",".join(parts)


async def thread(ctx: Ctx, command: m.Thread) -> Done:
    if command.algorithm not in _THREADS:
        raise CommandError("BAD", f"Unknown threading algorithm {command.algorithm}")
    items = await _sort_facts(ctx, command)
    if command.algorithm == "ORDEREDSUBJECT":
        found = threads.ordered_subject(items)
    else:
        found = threads.references(items)
    await ctx.emit(ThreadData(found))
    return Done("OK", f"{'UID ' if command.uid else ''}THREAD completed")
