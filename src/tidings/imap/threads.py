"""SORT keys and THREAD algorithms (RFC 5256): ORDEREDSUBJECT and REFERENCES. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from tidings.imap.responses import ThreadNode
from tidings.mime.addresses import Address, Group, parse_address_list
from tidings.mime.dates import parse_date
from tidings.mime.headers import Headers
from tidings.mime.subject import base_subject

_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True, slots=True)
class SortFacts:
    """What SORT and THREAD look at for one message."""

    number: int  # sequence number or UID, whichever the client asked for
    arrival: datetime
    size: int
    sent: datetime  # the Date header, or arrival when missing (RFC 5256 §2.2)
    subject: str  # base subject, case-folded
    from_: str
    to: str
    cc: str
    display_from: str
    display_to: str
    message_id: str
    references: tuple[str, ...]


def _first(headers: Headers, name: str) -> tuple[str, str]:
    """(mailbox, display name) of the first address, lower-cased for comparison."""
    for item in parse_address_list(headers.get_decoded(name)):
        address: Address | None = item if isinstance(item, Address) else (
            item.members[0] if isinstance(item, Group) and item.members else None)
        if address is not None:
            mailbox = (address.mailbox or "").casefold()
            return mailbox, (address.name or mailbox).casefold()
    return "", ""


def facts(number: int, arrival: datetime, size: int, headers: Headers) -> SortFacts:
    sent = parse_date(headers.get("date")) or arrival
    from_, display_from = _first(headers, "from")
    to, display_to = _first(headers, "to")
    cc, _ = _first(headers, "cc")
    refs = _MSGID.findall(headers.get("references") or "")
    if not refs:
        refs = _MSGID.findall(headers.get("in-reply-to") or "")[:1]
    ids = _MSGID.findall(headers.get("message-id") or "")
    return SortFacts(number, arrival, size, sent, base_subject(headers.get("subject")).casefold(),
                     from_, to, cc, display_from, display_to, ids[0] if ids else "",
                     tuple(refs))


SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM",
                       "DISPLAYTO"})


def _key(item: SortFacts, name: str) -> tuple[float, str]:
    """A comparable key: numbers in the first slot, text in the second."""
    match name:
        case "ARRIVAL":
            return item.arrival.timestamp(), ""
        case "DATE":
            return item.sent.timestamp(), ""
        case "SIZE":
            return float(item.size), ""
        case "SUBJECT":
            return 0.0, item.subject
        case "FROM":
            return 0.0, item.from_
        case "TO":
            return 0.0, item.to
        case "CC":
            return 0.0, item.cc
        case "DISPLAYFROM":
            return 0.0, item.display_from
        case _:
            return 0.0, item.display_to


def sort(items: Sequence[SortFacts], criteria: Sequence[tuple[bool, str]]) -> list[int]:
    """Numbers in SORT order; ties fall back to the number (RFC 5256 §3)."""
    ordered = sorted(items, key=lambda i: i.number)
    for reverse, name in reversed(criteria):
        ordered.sort(key=partial(_key, name=name), reverse=reverse)
    return [i.number for i in ordered]


def ordered_subject(items: Sequence[SortFacts]) -> tuple[ThreadNode, ...]:
    """RFC 5256 ORDEREDSUBJECT: group by base subject, each thread a flat list under
    its first message, threads ordered by their first message's date."""
    groups: dict[str, list[SortFacts]] = {}
    for item in sorted(items, key=lambda i: (i.sent, i.number)):
        groups.setdefault(item.subject, []).append(item)
    threads = sorted(groups.values(), key=lambda g: (g[0].sent, g[0].number))
    return tuple((g[0].number, tuple((c.number, ()) for c in g[1:])) for g in threads)


@dataclass(slots=True)
class _Container:
    item: SortFacts | None = None
    parent: _Container | None = None
    children: list[_Container] = field(default_factory=list)


def _is_ancestor(node: _Container, candidate: _Container) -> bool:
    walker: _Container | None = candidate
    while walker is not None:
        if walker is node:
            return True
        walker = walker.parent
    return False


def _link(child: _Container, parent: _Container) -> None:
    if child.parent is parent or _is_ancestor(child, parent):
        return
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def references(items: Sequence[SortFacts]) -> tuple[ThreadNode, ...]:
    """RFC 5256 REFERENCES, steps 1-4 and 6: link by Message-ID/References, prune empty
    containers, gather roots with the same base subject, order by sent date."""
    table: dict[str, _Container] = {}
    for position, item in enumerate(items):
        key = item.message_id or f"<unique-{position}@tidings.invalid>"
        if key in table and table[key].item is not None:
            key = f"<dup-{position}@tidings.invalid>"
        container = table.setdefault(key, _Container())
        container.item = item
        previous: _Container | None = None
        for ref in item.references:
            node = table.setdefault(ref, _Container())
            if previous is not None and node.parent is None:
                _link(node, previous)
            previous = node
        if previous is not None and previous is not container:
            _link(container, previous)
    roots = [c for c in table.values() if c.parent is None]
    pruned = [n for root in roots for n in _prune(root, top=True)]
    return tuple(_node(c) for c in _gather(pruned))


def _prune(node: _Container, *, top: bool) -> list[_Container]:
    kept: list[_Container] = []
    for child in list(node.children):
        kept += _prune(child, top=False)
    node.children = kept
    for child in kept:
        child.parent = node
    if node.item is not None:
        return [node]
    if not kept:
        return []
    if top and len(kept) > 1:
        return [node]  # a dummy root keeps its several children together
    for child in kept:
        child.parent = None
    return kept


def _date(node: _Container) -> tuple[datetime, int]:
    if node.item is not None:
        return node.item.sent, node.item.number
    return min(_date(c) for c in node.children)


def _gather(roots: list[_Container]) -> list[_Container]:
    by_subject: dict[str, _Container] = {}
    out: list[_Container] = []
    for root in sorted(roots, key=_date):
        subject = root.item.subject if root.item else (
            root.children[0].item.subject if root.children and root.children[0].item else "")
        holder = by_subject.get(subject) if subject else None
        if holder is None:
            if subject:
                by_subject[subject] = root
            out.append(root)
            continue
        if holder.item is not None:
            dummy = _Container(children=[holder])
            holder.parent = dummy
            by_subject[subject] = dummy
            out[out.index(holder)] = dummy
            holder = dummy
        root.parent = holder
        holder.children.append(root)
    return out


def _node(container: _Container) -> ThreadNode:
    children = sorted(container.children, key=_date)
    number = container.item.number if container.item else None
    return number, tuple(_node(c) for c in children)
