"""Canonical forms of domain names and mailbox addresses, as the directory stores them.

Domains are lowercase A-labels (IDNA 2008 with UTS #46 mapping, RFC 5891);
addresses are ``local@domain`` with a dot-atom local part (RFC 5322 §3.4.1,
UTF-8 allowed as in RFC 6531), lowercased.
"""

from __future__ import annotations

import string
import unicodedata

import idna

from tidings.model.errors import InvalidInput

MAX_DOMAIN_OCTETS = 253  # RFC 1035 §2.3.4, without the trailing dot
MAX_LOCAL_PART_OCTETS = 64  # RFC 5321 §4.5.3.1.1
MAX_ADDRESS_OCTETS = 254  # RFC 5321 §4.5.3.1.3 path (256) minus the angle brackets
# RFC 5322 §3.2.3 atext.
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")


def normalize_domain(name: str, *, field: str = "domain") -> str:
    """The lowercase A-label form of `name`. Raises InvalidInput(field=field)."""
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]  # an absolute name means the same domain
    if not text:
        raise InvalidInput("a domain name is required", field=field)
    if text.startswith("["):
        raise InvalidInput("an address literal is not a domain name", field=field)
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidInput(f"{name!r} is not a valid domain name: {exc}", field=field) from exc
    except UnicodeError as exc:
        raise InvalidInput(f"{name!r} is not a valid domain name", field=field) from exc
    ascii_name = ascii_name.lower()
    if len(ascii_name) > MAX_DOMAIN_OCTETS:
        raise InvalidInput(f"domain name longer than {MAX_DOMAIN_OCTETS} octets", field=field)
    return ascii_name


def normalize_local_part(local: str, *, field: str = "address") -> str:
    """A lowercased dot-atom local part. Raises InvalidInput(field=field)."""
    if not local:
        raise InvalidInput("the part before @ is empty", field=field)
    # One spelling per UTF-8 address, as the store keeps it (RFC 6532 §3.1: NFC).
    local = unicodedata.normalize("NFC", local)
    if len(local.encode("utf-8")) > MAX_LOCAL_PART_OCTETS:
        raise InvalidInput(
            f"the part before @ is longer than {MAX_LOCAL_PART_OCTETS} octets", field=field
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidInput("dots must separate words in the part before @", field=field)
    for ch in local:
        if ch == "." or ch in _ATEXT:
            continue
        # RFC 6531 §3.3: any non-ASCII UTF-8 character is atext, but no spaces or controls.
        if ord(ch) > 0x7F and ch.isprintable() and not ch.isspace():
            continue
        raise InvalidInput(f"character {ch!r} is not allowed before @", field=field)
    return local.lower()


def normalize_address(address: str, *, field: str = "address") -> str:
    """``local@domain`` in canonical form. Raises InvalidInput(field=field)."""
    text = address.strip()
    if text.count("@") != 1:
        raise InvalidInput(f"{address!r} must contain exactly one @", field=field)
    local, domain = text.split("@")
    canonical = (
        f"{normalize_local_part(local, field=field)}@{normalize_domain(domain, field=field)}"
    )
    if len(canonical.encode("utf-8")) > MAX_ADDRESS_OCTETS:
        raise InvalidInput(f"address longer than {MAX_ADDRESS_OCTETS} octets", field=field)
    return canonical
