"""Where to send mail for a domain: MX lookup with dnspython's async resolver
(RFC 5321 §5.1), implicit MX from A/AAAA, null MX (RFC 7505), or a smarthost."""

from __future__ import annotations

import ipaddress
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

log = logging.getLogger(__name__)


class RouteError(Exception):
    """No usable route; `permanent` says whether to bounce now or retry later."""

    def __init__(self, text: str, enhanced: str, *, permanent: bool, code: int) -> None:
        super().__init__(text)
        self.text = text
        self.enhanced = enhanced
        self.permanent = permanent
        self.code = code


def _permanent(text: str, enhanced: str = "5.1.2", code: int = 550) -> RouteError:
    return RouteError(text, enhanced, permanent=True, code=code)


def _temporary(text: str, enhanced: str = "4.4.3") -> RouteError:
    return RouteError(text, enhanced, permanent=False, code=451)


@dataclass(frozen=True, slots=True)
class MailHost:
    """One host to try, with its addresses in the order to try them."""

    name: str
    preference: int
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """The hosts for one destination, most preferred first."""

    destination: str  # the domain, or "smarthost"
    hosts: tuple[MailHost, ...]
    port: int
    via_smarthost: bool = False


class MXResolver:
    """Resolves domains to routes; the nameserver is configurable for tests."""

    def __init__(
        self,
        nameserver: tuple[str, int] | None = None,
        *,
        port: int = 25,
        timeout: float = 5.0,
        shuffle: bool = True,
    ) -> None:
        if nameserver is None:
            self.resolver = dns.asyncresolver.Resolver()
        else:
            self.resolver = dns.asyncresolver.Resolver(configure=False)
            self.resolver.nameservers = [nameserver[0]]
            self.resolver.port = nameserver[1]
        self.resolver.lifetime = timeout
        self.port = port
        self.shuffle = shuffle

    async def route(self, domain: str) -> Route:
        """The MX hosts of `domain` with their addresses. Raises RouteError."""
        literal = _address_literal(domain)
        if literal is not None:
            return Route(domain, (MailHost(domain, 0, (literal,)),), self.port)
        exchanges = await self._mx(domain)
        if exchanges is None:
            # RFC 5321 §5.1: no MX records, the domain itself is the implicit MX.
            addresses = await self.addresses(domain)
            if not addresses:
                raise _permanent(f"{domain} has no MX and no address records")
            return Route(domain, (MailHost(domain, 0, addresses),), self.port)
        if len(exchanges) == 1 and exchanges[0][1] in ("", "."):
            # RFC 7505 §3-4: a single "MX 0 ." says the domain takes no mail.
            raise _permanent(f"{domain} does not accept mail (null MX)", "5.1.10", code=556)
        hosts: list[MailHost] = []
        for preference, name in exchanges:
            if name in ("", "."):
                continue
            try:
                addresses = await self.addresses(name)
            except RouteError as exc:
                log.info("outbound.mx_unresolved domain=%s mx=%s error=%s", domain, name, exc)
                continue
            if addresses:
                hosts.append(MailHost(name, preference, addresses))
        if not hosts:
            raise _temporary(f"no MX host of {domain} has an address")
        return Route(domain, tuple(hosts), self.port)

    async def smarthost(self, host: str, port: int) -> Route:
        """A route to the configured relay. Raises RouteError (temporary)."""
        literal = _address_literal(f"[{host}]") if _is_ip(host) else None
        addresses = (literal,) if literal else await self.addresses(host)
        if not addresses:
            raise _temporary(f"smarthost {host} has no address records")
        return Route("smarthost", (MailHost(host, 0, addresses),), port, via_smarthost=True)

    async def _mx(self, domain: str) -> list[tuple[int, str]] | None:
        """(preference, exchange) sorted by preference, equal ones shuffled; None: no MX."""
        try:
            answer = await self.resolver.resolve(domain, dns.rdatatype.MX, search=False)
        except dns.resolver.NoAnswer:
            return None
        except dns.resolver.NXDOMAIN:
            raise _permanent(f"the domain {domain} does not exist") from None
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            failure = type(exc).__name__
            raise _temporary(f"DNS lookup of MX for {domain} failed: {failure}") from None
        except dns.exception.DNSException as exc:
            raise _permanent(f"invalid mail domain {domain}: {exc}", "5.1.3") from None
        records = [
            (int(r.preference), r.exchange.to_text(omit_final_dot=True).lower())
            for r in answer
        ]
        if self.shuffle:
            random.shuffle(records)  # RFC 5321 §5.1: spread load among equal preferences
        records.sort(key=lambda item: item[0])
        return records

    async def addresses(self, name: str) -> tuple[str, ...]:
        """IPv4 then IPv6 addresses of `name` (empty if it has none). Raises RouteError."""
        found: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                answer = await self.resolver.resolve(name, rdtype, search=False)
            except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                continue
            except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
                raise _temporary(f"DNS lookup of {name} failed: {type(exc).__name__}") from None
            found.extend(r.to_text() for r in answer)
        return tuple(found)


def _address_literal(domain: str) -> str | None:
    """RFC 5321 §4.1.3: `[192.0.2.1]` or `[IPv6:2001:db8::1]` names a host directly."""
    if not (domain.startswith("[") and domain.endswith("]")):
        return None
    inner = domain[1:-1]
    if inner.lower().startswith("ipv6:"):
        inner = inner[5:]
    return inner if _is_ip(inner) else None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def group_by_domain(addresses: Sequence[str]) -> dict[str, list[str]]:
    """Recipients by their lower-cased domain, in first-seen order."""
    groups: dict[str, list[str]] = {}
    for address in addresses:
        domain = address.rpartition("@")[2].lower()
        groups.setdefault(domain, []).append(address)
    return groups
