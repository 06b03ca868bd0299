"""The organisation address book at /dav/addressbooks/<me>/gal/: a read-only CardDAV
collection generated from the directory (RFC 6352 §8, RFC 6578; decision 0005a).

Every user sees the GAL of its own domain in its own address-book home. Writes get
403. The directory has no change log, so the CTag and sync token are a hash of the
GAL's state: a client holding the current token gets no changes, one holding an
older token gets 403 DAV:valid-sync-token and syncs again from scratch, which drops
the cards of removed principals.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tidings.calendar.gal import GALEntry, gal_objects, gal_state
from tidings.calendar.vcard import card_matches, parse_vcard
from tidings.dav import paths
from tidings.dav.errors import XML, DAVResponse, precondition
from tidings.dav.handlers import DAVRequest
from tidings.dav.props import (
    SYNC_TOKEN_PREFIX,
    CollectionResource,
    ObjectResource,
    Resource,
    etag_header,
    propfind_response,
    render,
)
from tidings.dav.requests import Report, parse_propfind, parse_report
from tidings.dav.xml import (
    CARDDAV,
    DAV,
    PropResult,
    element,
    multistatus,
    parse_xml,
    response,
    status_response,
    tag,
)
from tidings.model.dav import CollectionKind, DAVCollection, DAVObject, ShareLevel
from tidings.model.directory import Principal, PrincipalKind
from tidings.model.errors import NotFound
from tidings.model.ids import AccountId
from tidings.store.services import DirectoryService

GAL_NAME = "gal"
ADDRESS_DATA = tag(CARDDAV, "address-data")
PAGE = 1000


class GAL:
    """Serves the GAL; the cards of a domain are kept for `ttl_seconds`."""

    def __init__(self, directory: DirectoryService, ttl_seconds: float = 5.0) -> None:
        self.directory = directory
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, list[DAVObject]]] = {}

    def serves(self, path: str) -> bool:
        """Whether the path names the GAL or one of its cards (of any user)."""
        match paths.parse_path(path):
            case paths.CollectionPath(kind=CollectionKind.ADDRESSBOOK, name=name):
                return name == GAL_NAME
            case paths.ObjectPath(kind=CollectionKind.ADDRESSBOOK, collection=name):
                return name == GAL_NAME
        return False

    async def cards(self, domain: str) -> list[DAVObject]:
        cached = self._cache.get(domain)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        entries = [await self._entry(p) for p in await self._principals(domain) if p.enabled]
        cards = gal_objects(entries)
        self._cache[domain] = (time.monotonic(), cards)
        return cards

    async def _principals(self, domain: str) -> list[Principal]:
        found: list[Principal] = []
        while True:
            page = await self.directory.list_principals(
                domain=domain, offset=len(found), limit=PAGE
            )
            found += page
            if len(page) < PAGE:
                return found

    async def _entry(self, principal: Principal) -> GALEntry:
        members: tuple[str, ...] = ()
        if principal.kind is PrincipalKind.GROUP:
            listed = await self.directory.list_members(principal.id)
            members = tuple(sorted(m.name for m in listed))
        return GALEntry(
            int(principal.id), principal.kind, principal.name, principal.display_name, members
        )

    async def collection(self, actor: Principal) -> tuple[DAVCollection, list[DAVObject]]:
        cards = await self.cards(actor.domain)
        collection = DAVCollection(
            id=0,
            account_id=AccountId(int(actor.id)),
            kind=CollectionKind.ADDRESSBOOK,
            name=GAL_NAME,
            display_name=f"Organisation ({actor.domain})",
            description="Everyone in the directory (read-only)",
            color="",
            timezone="",
            components=frozenset(),
            modseq=gal_state(cards),
            access=ShareLevel.READ,
        )
        return collection, cards

    async def member(self, actor: Principal) -> tuple[str, Resource]:
        """The GAL's entry in the actor's address-book home listing."""
        collection, _ = await self.collection(actor)
        href = paths.collection_href(CollectionKind.ADDRESSBOOK, actor.name, GAL_NAME)
        return href, CollectionResource(collection, actor, writable=False)

    async def answer(self, request: DAVRequest, actor: Principal) -> DAVResponse:
        """One request on the GAL. Raises NotFound for another user's GAL path."""
        target = paths.parse_path(request.path)
        assert isinstance(target, paths.CollectionPath | paths.ObjectPath)
        if target.address != actor.name:
            raise NotFound("no such collection")
        collection, cards = await self.collection(actor)
        href = paths.collection_href(CollectionKind.ADDRESSBOOK, actor.name, GAL_NAME)
        match request.method:
            case "PROPFIND":
                return self._propfind(request, actor, target, collection, cards, href)
            case "GET" | "HEAD":
                return _get(request, target, cards)
            case "REPORT":
                return _report(
                    parse_report(parse_xml(request.body)), actor, collection, cards, href
                )
        return precondition(403, DAV, "need-privileges")

    def _propfind(
        self,
        request: DAVRequest,
        actor: Principal,
        target: paths.CollectionPath | paths.ObjectPath,
        collection: DAVCollection,
        cards: list[DAVObject],
        href: str,
    ) -> DAVResponse:
        wanted = parse_propfind(parse_xml(request.body))
        found: list[tuple[str, Resource]] = []
        if isinstance(target, paths.ObjectPath):
            found.append(
                (
                    href + paths._q(target.name),
                    ObjectResource(_card(cards, target.name), collection.kind),
                )
            )
        else:
            found.append((href, CollectionResource(collection, actor, writable=False)))
            if request.depth != "0":
                found += [
                    (href + paths._q(c.name), ObjectResource(c, collection.kind)) for c in cards
                ]
        return propfind_response(found, actor, wanted)


def _card(cards: Sequence[DAVObject], name: str) -> DAVObject:
    for card in cards:
        if card.name == name:
            return card
    raise NotFound(f"no card named {name!r}")


def _get(
    request: DAVRequest, target: paths.CollectionPath | paths.ObjectPath, cards: list[DAVObject]
) -> DAVResponse:
    if isinstance(target, paths.CollectionPath):
        return DAVResponse(200, b"", {"Content-Type": "text/plain"})
    card = _card(cards, target.name)
    body = b"" if request.method == "HEAD" else card.data.encode()
    headers = {"Content-Type": "text/vcard; charset=utf-8", "ETag": etag_header(card)}
    return DAVResponse(200, body, headers)


def _props(card: DAVObject, actor: Principal, wanted: Report) -> PropResult:
    result = render(
        ObjectResource(card, CollectionKind.ADDRESSBOOK),
        actor,
        [n for n in wanted.props if n != ADDRESS_DATA],
    )
    if ADDRESS_DATA in wanted.props:
        result.found.append(element(ADDRESS_DATA, card.data))
    return result


def _report(
    wanted: Report,
    actor: Principal,
    collection: DAVCollection,
    cards: list[DAVObject],
    href: str,
) -> DAVResponse:
    token: str | None = None
    missing: list[str] = []
    truncated = False
    if wanted.name == tag(CARDDAV, "addressbook-query"):
        chosen = [
            c
            for c in cards
            if card_matches(parse_vcard(c.data), wanted.card_filters, wanted.card_test)
        ]
        truncated = wanted.limit is not None and len(chosen) > wanted.limit
        chosen = chosen[: wanted.limit]
        answers = [(href + paths._q(c.name), c) for c in chosen]
    elif wanted.name == tag(CARDDAV, "addressbook-multiget"):
        by_name = {c.name: c for c in cards}
        answers = []
        for requested in wanted.hrefs:
            card = by_name.get(requested.rstrip("/").rsplit("/", 1)[-1])
            if card is None or not requested.startswith(href):
                missing.append(requested)
            else:
                answers.append((requested, card))
    elif wanted.name == tag(DAV, "sync-collection"):
        token = f"{SYNC_TOKEN_PREFIX}{collection.modseq}"
        if wanted.sync_token and wanted.sync_token != token:
            # No change log to answer from: the client starts again (RFC 6578 §3.2).
            return precondition(403, DAV, "valid-sync-token")
        chosen = [] if wanted.sync_token else cards
        answers = [(href + paths._q(c.name), c) for c in chosen]
    else:
        return precondition(403, DAV, "supported-report")
    nodes = [response(h, _props(c, actor, wanted)) for h, c in answers]
    nodes += [status_response(h, "404 Not Found") for h in missing]
    if truncated:
        nodes.append(status_response(href, "507 Insufficient Storage"))
    return DAVResponse(207, multistatus(nodes, sync_token=token), {"Content-Type": XML})
