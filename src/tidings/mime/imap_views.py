"""IMAP views of a message as Python values (RFC 9051 §7.5.2): ENVELOPE, BODY and
BODYSTRUCTURE. The IMAP serializer turns these into wire syntax (NIL for None).

Strings are the raw (unfolded) header text: encoded words are left for the client to
decode, as RFC 9051 expects. Section extraction lives in `tidings.mime.sections` and
is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from tidings.mime.addresses import Address, Group, parse_address_list
from tidings.mime.headers import Headers
from tidings.mime.params import Params
from tidings.mime.sections import (
    Section,
    UnknownCTE,
    binary_bytes,
    binary_size,
    find_part,
    parse_section,
    section_bytes,
)
from tidings.mime.structure import Part, parse_message

__all__ = [
    "BodyPart",
    "BodyStructure",
    "Envelope",
    "EnvelopeAddress",
    "Multipart",
    "Section",
    "UnknownCTE",
    "binary_bytes",
    "binary_size",
    "body",
    "body_structure",
    "envelope",
    "find_part",
    "parse_section",
    "section_bytes",
]

# A value in the RFC 9051 order: str / int / None (NIL) / nested tuples (lists).
Sexp = str | int | None | tuple["Sexp", ...]


@dataclass(frozen=True, slots=True)
class EnvelopeAddress:
    """RFC 9051 address: (name adl mailbox host); host None marks a group start/end."""

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None

    def as_tuple(self) -> Sexp:
        return (self.name, self.adl, self.mailbox, self.host)


AddressList = tuple[EnvelopeAddress, ...] | None  # None is NIL (no addresses)


@dataclass(frozen=True, slots=True)
class Envelope:
    """RFC 9051 §7.5.2 ENVELOPE; sender and reply_to default to from_."""

    date: str | None
    subject: str | None
    from_: AddressList
    sender: AddressList
    reply_to: AddressList
    to: AddressList
    cc: AddressList
    bcc: AddressList
    in_reply_to: str | None
    message_id: str | None

    def as_tuple(self) -> Sexp:
        lists = (self.from_, self.sender, self.reply_to, self.to, self.cc, self.bcc)
        return (
            self.date,
            self.subject,
            *(None if a is None else tuple(x.as_tuple() for x in a) for a in lists),
            self.in_reply_to,
            self.message_id,
        )


Disposition = tuple[str, Params]


@dataclass(frozen=True, slots=True)
class BodyPart:
    """A non-multipart body: basic, text (with lines) or message/rfc822|global (with
    envelope, body and lines). Extension fields are sent only when `extended`."""

    type: str
    subtype: str
    params: Params
    id: str | None
    description: str | None
    encoding: str
    size: int
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    md5: str | None = None
    disposition: Disposition | None = None
    language: tuple[str, ...] = ()
    location: str | None = None
    extended: bool = True

    def as_tuple(self) -> Sexp:
        fields: list[Sexp] = [
            self.type, self.subtype, _params(self.params), self.id, self.description,
            self.encoding, self.size,
        ]  # fmt: skip
        if self.envelope is not None and self.body is not None:
            fields += [self.envelope.as_tuple(), self.body.as_tuple()]
        if self.lines is not None:
            fields.append(self.lines)
        if self.extended:
            fields += [self.md5, *_extension(self.disposition, self.language, self.location)]
        return tuple(fields)


@dataclass(frozen=True, slots=True)
class Multipart:
    """A multipart body: its parts (written with no space between them), subtype, and
    when `extended` the params, disposition, language and location."""

    parts: tuple[BodyStructure, ...]
    subtype: str
    params: Params = ()
    disposition: Disposition | None = None
    language: tuple[str, ...] = ()
    location: str | None = None
    extended: bool = True

    def as_tuple(self) -> Sexp:
        fields: list[Sexp] = [part.as_tuple() for part in self.parts]
        fields.append(self.subtype)
        if self.extended:
            fields += [
                _params(self.params),
                *_extension(self.disposition, self.language, self.location),
            ]
        return tuple(fields)


BodyStructure = BodyPart | Multipart


def _params(params: Params) -> Sexp:
    return tuple(item for pair in params for item in pair) or None


def _extension(
    disposition: Disposition | None, language: tuple[str, ...], location: str | None
) -> list[Sexp]:
    disp: Sexp = None if disposition is None else (disposition[0], _params(disposition[1]))
    lang: Sexp = None if not language else language[0] if len(language) == 1 else language
    return [disp, lang, location]


def _address_list(headers: Headers, name: str) -> AddressList:
    value = headers.get(name)
    out: list[EnvelopeAddress] = []
    for item in parse_address_list(value):
        if isinstance(item, Group):
            # RFC 9051 §7.5.2: group start (NIL NIL name NIL) ... end (NIL NIL NIL NIL).
            out.append(EnvelopeAddress(None, None, item.name, None))
            out.extend(_envelope_address(m) for m in item.members)
            out.append(EnvelopeAddress(None, None, None, None))
        else:
            out.append(_envelope_address(item))
    return tuple(out) or None


def _envelope_address(address: Address) -> EnvelopeAddress:
    return EnvelopeAddress(address.name, address.route, address.mailbox, address.host)


def envelope(headers: Headers) -> Envelope:
    """The ENVELOPE of a message (or encapsulated message) from its header fields."""
    from_ = _address_list(headers, "from")
    return Envelope(
        date=headers.get("date"),
        subject=headers.get("subject"),
        from_=from_,
        sender=_address_list(headers, "sender") or from_,
        reply_to=_address_list(headers, "reply-to") or from_,
        to=_address_list(headers, "to"),
        cc=_address_list(headers, "cc"),
        bcc=_address_list(headers, "bcc"),
        in_reply_to=headers.get("in-reply-to"),
        message_id=headers.get("message-id"),
    )


def body_structure(part: Part | bytes, extended: bool = True) -> BodyStructure:
    """BODYSTRUCTURE (extended=True) or BODY (extended=False) of a parsed part or message."""
    node = parse_message(part) if isinstance(part, bytes) else part
    ctype = node.content_type
    disposition = None
    if node.disposition is not None:
        disposition = (node.disposition.kind.upper(), _upper_names(node.disposition.params))
    if node.children:
        return Multipart(
            tuple(body_structure(child, extended) for child in node.children),
            ctype.subtype.upper(), _upper_names(ctype.params), disposition,
            node.language, node.location, extended,
        )  # fmt: skip
    lines: int | None = None
    inner_envelope: Envelope | None = None
    inner_body: BodyStructure | None = None
    if node.message is not None:
        inner_envelope = envelope(node.message.headers)
        inner_body = body_structure(node.message, extended)
        lines = node.lines
    elif ctype.maintype == "text":
        lines = node.lines
    return BodyPart(
        ctype.maintype.upper(), ctype.subtype.upper(), _upper_names(ctype.params),
        node.content_id, node.description, node.encoding.upper(), node.size, lines,
        inner_envelope, inner_body, node.md5, disposition, node.language, node.location,
        extended,
    )  # fmt: skip


def body(part: Part | bytes) -> BodyStructure:
    """BODY: the non-extensible form of BODYSTRUCTURE."""
    return body_structure(part, extended=False)


def _upper_names(params: Params) -> Params:
    """Upper-case names; non-ASCII values go back to RFC 2231 form (`NAME*` =
    utf-8''percent-encoded) so IMAP4rev1 clients get ASCII they know how to decode."""
    out: list[tuple[str, str]] = []
    for name, value in params:
        if value.isascii():
            out.append((name.upper(), value))
        else:
            encoded = quote(value.encode("utf-8", errors="surrogatepass"), safe="")
            out.append((name.upper() + "*", "utf-8''" + encoded))
    return tuple(out)
