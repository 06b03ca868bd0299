"""A small async DNS layer for the hygiene checks: one configured resolver, timeouts,
answers as text, and a per-message cache so SPF, DKIM, DMARC and ARC share lookups."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.reversename

log = logging.getLogger(__name__)

# The record types the checks need; answers are returned as text:
# TXT strings joined (RFC 7208 §3.3), A/AAAA addresses, MX "preference exchange", PTR names.
RECORD_TYPES = frozenset({"TXT", "A", "AAAA", "MX", "PTR"})


class DNSTempError(Exception):
    """The lookup failed for now (timeout, SERVFAIL): a temperror, not an absence."""


class DNSLookup(Protocol):
    """What the checks ask of DNS; an empty tuple means NXDOMAIN or no records."""

    async def query(self, name: str, rdtype: str) -> tuple[str, ...]:
        """Records of `rdtype` at `name`. Raises DNSTempError."""
        ...


def _text(rdata: object, rdtype: str) -> str:
    if rdtype == "TXT":
        strings: tuple[bytes, ...] = rdata.strings  # type: ignore[attr-defined]
        return b"".join(strings).decode("utf-8", "replace")
    if rdtype == "MX":
        exchange = str(rdata.exchange).rstrip(".").lower()  # type: ignore[attr-defined]
        return f"{rdata.preference} {exchange}"  # type: ignore[attr-defined]
    if rdtype == "PTR":
        return str(rdata.target).rstrip(".").lower()  # type: ignore[attr-defined]
    return str(rdata)


class Resolver:
    """dnspython's async resolver pointed at one nameserver (or the system's)."""

    def __init__(
        self, nameserver: tuple[str, int] | None = None, *, timeout_seconds: float = 5.0
    ) -> None:
        if nameserver is None:
            self._resolver = dns.asyncresolver.Resolver()
        else:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [nameserver[0]]
            self._resolver.port = nameserver[1]
        self._resolver.lifetime = timeout_seconds
        self._resolver.timeout = timeout_seconds
        self.nameserver = nameserver

    async def query(self, name: str, rdtype: str) -> tuple[str, ...]:
        """Records of `rdtype` at `name`. Raises DNSTempError."""
        if rdtype not in RECORD_TYPES:
            raise ValueError(f"unsupported record type {rdtype}")
        try:
            answer = await self._resolver.resolve(
                name.rstrip(".") + ".", rdtype, search=False, raise_on_no_answer=False
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return ()
        except dns.exception.Timeout:
            log.info("hygiene.dns_timeout name=%s type=%s", name, rdtype)
            raise DNSTempError(f"timeout looking up {rdtype} {name}") from None
        except (dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
            raise DNSTempError(f"{rdtype} {name}: {type(exc).__name__}") from None
        except dns.exception.DNSException as exc:
            # A malformed name (too long, empty label) cannot exist: treat as absent.
            log.debug("hygiene.dns_error name=%s type=%s error=%s", name, rdtype, exc)
            return ()
        if answer.rrset is None:
            return ()
        return tuple(_text(rdata, rdtype) for rdata in answer.rrset)


def reverse_name(ip: str) -> str:
    """The in-addr.arpa / ip6.arpa name of an address (RFC 1035 §3.5, RFC 3596 §2.5)."""
    return str(dns.reversename.from_address(ip)).rstrip(".")


@dataclass
class CachingLookup:
    """Wraps a lookup with a cache; make one per message (answers live that long)."""

    inner: DNSLookup
    _answers: dict[tuple[str, str], tuple[str, ...] | DNSTempError] = field(default_factory=dict)
    queries: int = 0

    async def query(self, name: str, rdtype: str) -> tuple[str, ...]:
        key = (name.rstrip(".").lower(), rdtype)
        cached = self._answers.get(key)
        if cached is None:
            self.queries += 1
            try:
                cached = await self.inner.query(key[0], rdtype)
            except DNSTempError as exc:
                cached = exc
            self._answers[key] = cached
        if isinstance(cached, DNSTempError):
            raise cached
        return cached
