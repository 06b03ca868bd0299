"""Envelope paths of MAIL FROM and RCPT TO: RFC 5321 §4.1.2 syntax with the
UTF-8 extensions of RFC 6531 §3.3, and the size limits of §4.5.3.1."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_LOCAL_PART_OCTETS = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN_OCTETS = 255  # §4.5.3.1.2
MAX_PATH_OCTETS = 256  # §4.5.3.1.3

_ATEXT = "!#$%&'*+-/=?^_`{|}~"
_SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
_ROUTE = re.compile(r"^@[^,:@]+(?:,@[^,:@]+)*:")


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox as given in the envelope; `domain` is "" only for bare <postmaster>."""

    local_part: str
    domain: str

    def __str__(self) -> str:
        return f"{self.local_part}@{self.domain}" if self.domain else self.local_part

    @property
    def is_ascii(self) -> bool:
        return str(self).isascii()

    @property
    def is_postmaster(self) -> bool:
        return self.local_part.lower() == "postmaster"


class AddressError(ValueError):
    """The path is not valid syntax; the message says what is wrong."""


def split_path(text: str) -> tuple[str, str]:
    """Split "<path> params" into (path without brackets, rest). Raises AddressError.

    Quoted local parts may hold ">", so the scan honours quotes and backslashes.
    """
    if not text.startswith("<"):
        raise AddressError("the address must be enclosed in <>")
    in_quotes = False
    escaped = False
    for index in range(1, len(text)):
        ch = text[index]
        if escaped:
            escaped = False
        elif ch == "\\" and in_quotes:
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
        elif ch == ">" and not in_quotes:
            return text[1:index], text[index + 1 :]
    raise AddressError("the address has no closing >")


def _is_atom_char(ch: str) -> bool:
    return (ch.isalnum() and ch.isascii()) or ch in _ATEXT or not ch.isascii()


def _check_local_part(local: str) -> None:
    if not local:
        raise AddressError("the local part is empty")
    if len(local.encode("utf-8")) > MAX_LOCAL_PART_OCTETS:
        raise AddressError("the local part is longer than 64 octets")
    if local.startswith('"'):
        _check_quoted(local)
        return
    for atom in local.split("."):
        if not atom:
            raise AddressError("the local part has an empty dot-separated atom")
        if not all(_is_atom_char(ch) and ch.isprintable() for ch in atom):
            raise AddressError("the local part holds a character that must be quoted")


def _check_quoted(local: str) -> None:
    if len(local) < 2 or not local.endswith('"'):
        raise AddressError("the quoted local part is not closed")
    body = local[1:-1]
    index = 0
    while index < len(body):
        ch = body[index]
        if ch == "\\":
            if index + 1 >= len(body) or not " " <= body[index + 1] <= "~":
                raise AddressError("bad quoted-pair in the local part")
            index += 2
            continue
        if ch == '"' or (ch.isascii() and not " " <= ch <= "~") or not ch.isprintable():
            raise AddressError("bad character in the quoted local part")
        index += 1


def _check_domain(domain: str) -> None:
    if not domain:
        raise AddressError("the domain is empty")
    if len(domain.encode("utf-8")) > MAX_DOMAIN_OCTETS:
        raise AddressError("the domain is longer than 255 octets")
    if domain.startswith("["):
        _check_address_literal(domain)
        return
    for label in domain.split("."):
        if label.isascii():
            if not _SUBDOMAIN.match(label):
                raise AddressError(f"bad domain label {label!r}")
        elif not label or not all(ch.isalnum() or ch == "-" for ch in label):
            raise AddressError(f"bad internationalised domain label {label!r}")


def _check_address_literal(domain: str) -> None:
    """RFC 5321 §4.1.3: [IPv4], [IPv6:addr] or a general tag:content literal."""
    if not domain.endswith("]"):
        raise AddressError("the address literal is not closed")
    inner = domain[1:-1]
    try:
        if inner[:5].lower() == "ipv6:":
            ipaddress.IPv6Address(inner[5:])
        elif ":" in inner:
            tag, _, content = inner.partition(":")
            if not _SUBDOMAIN.match(tag) or not content or not content.isprintable():
                raise AddressError("bad general address literal")
        else:
            ipaddress.IPv4Address(inner)
    except ipaddress.AddressValueError as exc:
        raise AddressError(f"bad address literal: {exc}") from None


def parse_mailbox(path: str, *, allow_bare_postmaster: bool = False) -> Address:
    """Parse the inside of <...> into an Address; a source route is dropped
    (RFC 5321 §4.1.1.3: accept it, ignore it). Raises AddressError."""
    if len(path.encode("utf-8")) > MAX_PATH_OCTETS:
        raise AddressError("the address is longer than 256 octets")
    route = _ROUTE.match(path)
    if route:
        path = path[route.end() :]
    if allow_bare_postmaster and path.lower() == "postmaster":
        return Address("postmaster", "")
    local, sep, domain = path.rpartition("@")
    if not sep:
        raise AddressError("the address has no @domain")
    _check_local_part(local)
    _check_domain(domain)
    return Address(local, domain)
