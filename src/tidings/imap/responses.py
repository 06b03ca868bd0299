"""Typed server responses to bytes (RFC 9051 §7 and the extensions' response data)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tidings.imap.wire import Atom, Raw, Value, encode_astring, encode_string, encode_value

CRLF = b"\r\n"


class Response(Protocol):
    def encode(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Code:
    """A response code: "[NAME args]" (RFC 9051 §7.1)."""

    name: str
    args: str | None = None

    def encode(self) -> bytes:
        inner = self.name if self.args is None else f"{self.name} {self.args}"
        return b"[" + inner.encode("utf-8") + b"] "


def _text(text: str) -> bytes:
    # Human text is one line of TEXT-CHAR: never let a CR or LF through.
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8") or b"done"


@dataclass(frozen=True, slots=True)
class Tagged:
    tag: str
    status: str  # OK, NO, BAD
    text: str
    code: Code | None = None

    def encode(self) -> bytes:
        code = self.code.encode() if self.code else b""
        return (
            self.tag.encode("ascii")
            + b" "
            + self.status.encode()
            + b" "
            + code
            + _text(self.text)
            + CRLF
        )


@dataclass(frozen=True, slots=True)
class Untagged:
    """Untagged status: OK, NO, BAD, PREAUTH, BYE."""

    status: str
    text: str
    code: Code | None = None

    def encode(self) -> bytes:
        code = self.code.encode() if self.code else b""
        return b"* " + self.status.encode() + b" " + code + _text(self.text) + CRLF


@dataclass(frozen=True, slots=True)
class Continuation:
    """ "+ text", or "+ base64" for a SASL challenge (RFC 9051 §7.6)."""

    text: str = "Ready"
    challenge: bytes | None = None

    def encode(self) -> bytes:
        if self.challenge is not None:
            return b"+ " + base64.b64encode(self.challenge) + CRLF
        return b"+ " + _text(self.text) + CRLF


@dataclass(frozen=True, slots=True)
class Data:
    """Generic untagged data: "* " followed by values separated by spaces."""

    items: tuple[Value, ...]

    def encode(self) -> bytes:
        return b"* " + b" ".join(encode_value(item) for item in self.items) + CRLF


def _data(*items: Value) -> bytes:
    return Data(items).encode()


@dataclass(frozen=True, slots=True)
class CapabilityData:
    capabilities: tuple[str, ...]

    def encode(self) -> bytes:
        return _data(Atom("CAPABILITY"), *(Atom(c) for c in self.capabilities))


@dataclass(frozen=True, slots=True)
class EnabledData:
    capabilities: tuple[str, ...]

    def encode(self) -> bytes:
        return _data(Atom("ENABLED"), *(Atom(c) for c in self.capabilities))


@dataclass(frozen=True, slots=True)
class ListData:
    """LIST/LSUB (RFC 9051 §7.3.1) with extended data: CHILDINFO, OLDNAME (RFC 5258)."""

    attributes: tuple[str, ...]
    delimiter: str | None
    name: str  # already encoded for the wire (modified UTF-7 unless UTF8=ACCEPT)
    child_info: tuple[str, ...] = ()
    lsub: bool = False

    def encode(self) -> bytes:
        items: list[Value] = [
            Atom("LSUB" if self.lsub else "LIST"),
            [Atom(a) for a in self.attributes],
            self.delimiter,
            Raw(encode_astring(self.name)),
        ]
        if self.child_info:
            items.append([("CHILDINFO"), [c for c in self.child_info]])
        return _data(*items)


@dataclass(frozen=True, slots=True)
class StatusData:
    name: str
    items: tuple[tuple[str, Value], ...]

    def encode(self) -> bytes:
        flat: list[Value] = []
        for key, value in self.items:
            flat += [Atom(key), value]
        return _data(Atom("STATUS"), Raw(encode_astring(self.name)), flat)


@dataclass(frozen=True, slots=True)
class FlagsData:
    flags: tuple[str, ...]

    def encode(self) -> bytes:
        return _data(Atom("FLAGS"), [Atom(f) for f in self.flags])


@dataclass(frozen=True, slots=True)
class CountData:
    """ "* n EXISTS", "* n RECENT", "* n EXPUNGE"."""

    number: int
    kind: str

    def encode(self) -> bytes:
        return _data(self.number, Atom(self.kind))


@dataclass(frozen=True, slots=True)
class VanishedData:
    """RFC 7162 §3.2.10: "* VANISHED [(EARLIER)] uid-set"."""

    uids: str  # a compressed uid set
    earlier: bool = False

    def encode(self) -> bytes:
        if self.earlier:
            return _data(Atom("VANISHED"), [Atom("EARLIER")], Atom(self.uids))
        return _data(Atom("VANISHED"), Atom(self.uids))


@dataclass(frozen=True, slots=True)
class FetchData:
    """ "* n FETCH (name value ...)"; values follow wire.Value rules."""

    number: int
    items: tuple[tuple[str, Value], ...]

    def encode(self) -> bytes:
        # The same bytes as Data((number, Atom("FETCH"), [Atom(name), value, ...])), built
        # directly: FETCH 1:* on a large mailbox encodes one of these per message.
        body = b" ".join(f"{name} ".encode() + encode_value(value) for name, value in self.items)
        return b"* %d FETCH (%s)\r\n" % (self.number, body)


@dataclass(frozen=True, slots=True)
class SearchData:
    """ "* SEARCH n ..." (rev1) with the CONDSTORE "(MODSEQ n)" suffix."""

    numbers: tuple[int, ...]
    modseq: int | None = None
    kind: str = "SEARCH"  # or SORT

    def encode(self) -> bytes:
        items: list[Value] = [Atom(self.kind), *self.numbers]
        if self.modseq is not None:
            items.append([Atom("MODSEQ"), self.modseq])
        return _data(*items)


@dataclass(frozen=True, slots=True)
class ESearchData:
    """RFC 4731 / RFC 9051 §7.3.4: "* ESEARCH (TAG "t") [UID] name value ..."."""

    tag: str | None
    uid: bool
    items: tuple[tuple[str, int | str], ...]

    def encode(self) -> bytes:
        out: list[Value] = [Atom("ESEARCH")]
        if self.tag is not None:
            out.append([Atom("TAG"), self.tag])
        if self.uid:
            out.append(Atom("UID"))
        for name, value in self.items:
            out += [Atom(name), Atom(value) if isinstance(value, str) else value]
        return _data(*out)


ThreadNode = tuple[int | None, tuple["ThreadNode", ...]]


def _thread(node: ThreadNode) -> bytes:
    number, children = node
    if number is None:
        return b"".join(b"(" + _thread(child) + b")" for child in children)
    head = str(number).encode()
    if len(children) == 1:
        return head + b" " + _thread(children[0])
    if children:
        return head + b" " + b"".join(b"(" + _thread(child) + b")" for child in children)
    return head


@dataclass(frozen=True, slots=True)
class ThreadData:
    """RFC 5256 §4: "* THREAD (2)(3 6 (4 23)(44 7 96))"."""

    threads: tuple[ThreadNode, ...]

    def encode(self) -> bytes:
        body = b"".join(b"(" + _thread(node) + b")" for node in self.threads)
        return b"* THREAD" + (b" " + body if body else b"") + CRLF


@dataclass(frozen=True, slots=True)
class QuotaData:
    """RFC 9208 §5.1: resources as (name, usage, limit)."""

    root: str
    resources: tuple[tuple[str, int, int], ...]

    def encode(self) -> bytes:
        flat: list[Value] = []
        for name, usage, limit in self.resources:
            flat += [Atom(name), usage, limit]
        return _data(Atom("QUOTA"), Raw(encode_astring(self.root)), flat)


@dataclass(frozen=True, slots=True)
class QuotaRootData:
    mailbox: str
    roots: tuple[str, ...]

    def encode(self) -> bytes:
        return _data(
            Atom("QUOTAROOT"),
            Raw(encode_astring(self.mailbox)),
            *(Raw(encode_astring(r)) for r in self.roots),
        )


@dataclass(frozen=True, slots=True)
class AclData:
    """RFC 4314 §3.6: "* ACL mailbox identifier rights ..."."""

    mailbox: str
    entries: tuple[tuple[str, str], ...]

    def encode(self) -> bytes:
        flat: list[Value] = []
        for identifier, rights in self.entries:
            flat += [Raw(encode_astring(identifier)), Raw(encode_astring(rights))]
        return _data(Atom("ACL"), Raw(encode_astring(self.mailbox)), *flat)


@dataclass(frozen=True, slots=True)
class ListRightsData:
    mailbox: str
    identifier: str
    required: str
    optional: tuple[str, ...]

    def encode(self) -> bytes:
        return _data(
            Atom("LISTRIGHTS"),
            Raw(encode_astring(self.mailbox)),
            Raw(encode_astring(self.identifier)),
            Raw(encode_astring(self.required)),
            *(Raw(encode_astring(o)) for o in self.optional),
        )


@dataclass(frozen=True, slots=True)
class MyRightsData:
    mailbox: str
    rights: str

    def encode(self) -> bytes:
        return _data(
            Atom("MYRIGHTS"),
            Raw(encode_astring(self.mailbox)),
            Raw(encode_astring(self.rights) if self.rights else encode_string("")),
        )


Namespaces = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class NamespaceData:
    """RFC 2342 / RFC 9051 §7.3.6: personal, other users', shared; each (prefix, delim)."""

    personal: tuple[tuple[str, str], ...]
    other: tuple[tuple[str, str], ...]
    shared: tuple[tuple[str, str], ...]

    def encode(self) -> bytes:
        def group(spaces: tuple[tuple[str, str], ...]) -> Value:
            return [[prefix, delim] for prefix, delim in spaces] if spaces else None

        return _data(Atom("NAMESPACE"), group(self.personal), group(self.other), group(self.shared))


@dataclass(frozen=True, slots=True)
class IdData:
    params: tuple[tuple[str, str | None], ...] | None

    def encode(self) -> bytes:
        if self.params is None:
            return _data(Atom("ID"), None)
        flat: list[Value] = []
        for key, value in self.params:
            flat += [key, value]
        return _data(Atom("ID"), flat)
