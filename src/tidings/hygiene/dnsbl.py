"""DNS block and allow lists (RFC 5782): the client address, reversed, under each
configured zone; an A answer in 127.0.0.0/8 means listed. Answers are cached per IP."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tidings.delivery.stages import Accept, EnvelopeInput, Reject, TempFail
from tidings.hygiene.dns import DNSLookup, DNSTempError

log = logging.getLogger(__name__)

CACHE_SECONDS = 600.0
MAX_CACHED_IPS = 50_000
# Spamhaus-style answers that report a query problem, not a listing.
_ERROR_ANSWERS = frozenset({"127.255.255.252", "127.255.255.254", "127.255.255.255"})


def query_name(ip: str, zone: str) -> str:
    """`4.3.2.1.zone` for 1.2.3.4; nibbles for IPv6 (RFC 5782 §2.1, §2.4)."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    if address.version == 4:
        labels = str(address).split(".")
    else:
        labels = list(address.exploded.replace(":", ""))
    return ".".join(reversed(labels)) + "." + zone


def _listed(answers: Sequence[str]) -> bool:
    return any(a.startswith("127.") and a not in _ERROR_ANSWERS for a in answers)


@dataclass(frozen=True, slots=True)
class ReputationResult:
    blocked_by: tuple[str, ...]  # DNSBL zones listing the client
    allowed_by: tuple[str, ...]  # DNSWL zones listing the client


class Reputation:
    """Looks a client up in every zone at once; remembers the answer for a while."""

    def __init__(
        self, dns: DNSLookup, *, block_zones: Sequence[str], allow_zones: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dns = dns
        self.block_zones = tuple(block_zones)
        self.allow_zones = tuple(allow_zones)
        self.clock = clock
        self._cache: dict[str, tuple[float, ReputationResult]] = {}

    async def check(self, ip: str) -> ReputationResult:
        """Which zones list `ip`; a zone that cannot be asked counts as not listing."""
        cached = self._cache.get(ip)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return ReputationResult((), ())
        zones = (*self.block_zones, *self.allow_zones)
        hits = await asyncio.gather(*(self._is_listed(ip, zone) for zone in zones))
        listed = [zone for zone, hit in zip(zones, hits, strict=True) if hit]
        result = ReputationResult(
            tuple(z for z in listed if z in self.block_zones),
            tuple(z for z in listed if z in self.allow_zones),
        )
        if len(self._cache) >= MAX_CACHED_IPS:
            self._cache.clear()
        self._cache[ip] = (self.clock() + CACHE_SECONDS, result)
        return result

    async def _is_listed(self, ip: str, zone: str) -> bool:
        try:
            return _listed(await self.dns.query(query_name(ip, zone), "A"))
        except DNSTempError:
            log.warning("hygiene.dnsbl_unavailable zone=%s", zone)
            return False

    async def is_allow_listed(self, ip: str) -> bool:
        return bool(self.allow_zones) and bool((await self.check(ip)).allowed_by)


class DNSBLStage:
    """Refuses a client listed by a DNSBL (and not vouched for by a DNSWL) at RCPT."""

    name = "dnsbl"

    def __init__(self, reputation: Reputation) -> None:
        self.reputation = reputation

    async def check(self, envelope: EnvelopeInput) -> Accept | Reject | TempFail:
        result = await self.reputation.check(envelope.peer_ip)
        if result.blocked_by and not result.allowed_by:
            zone = result.blocked_by[0]
            log.info("hygiene.dnsbl_refused zone=%s", zone)
            return Reject(554, "5.7.1",
                          f"Service unavailable; client [{envelope.peer_ip}] is listed by {zone}")
        return Accept()
