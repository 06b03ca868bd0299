"""Greylisting of (client network, sender, recipient) triplets: the first attempt gets
451 4.7.1, a retry after the delay is accepted, and a network whose retries passed
often enough is allow-listed for a while. State in memory or in Redis."""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tidings.delivery.stages import Accept, EnvelopeInput, Reject, TempFail
from tidings.store.services import GreylistTriplet as Triplet

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from tidings.hygiene.dnsbl import Reputation

log = logging.getLogger(__name__)

MAX_MEMORY_ENTRIES = 200_000


@dataclass(frozen=True, slots=True)
class GreylistPolicy:
    delay_seconds: float = 300.0
    retry_window_seconds: float = 86400.0
    allow_after_passes: int = 5
    allow_seconds: float = 36 * 86400.0


class GreylistStore(Protocol):
    """Where triplets and allow-listed networks live (the store's GreylistService,
    Redis, or memory); times are seconds on the greylister's clock."""

    async def get(self, key: str, now: float) -> Triplet | None: ...

    async def put(self, key: str, triplet: Triplet, now: float, ttl_seconds: float) -> None: ...

    async def count_pass(self, network: str, now: float, ttl_seconds: float) -> int: ...

    async def allow(self, network: str, now: float, until: float) -> None: ...

    async def allowed_until(self, network: str, now: float) -> float: ...


def client_network(ip: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) a client belongs to: senders retry from pools."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class Greylist:
    """The decision; the store only remembers."""

    def __init__(self, store: GreylistStore, policy: GreylistPolicy, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock

    async def check(self, ip: str, sender: str, recipient: str) -> float:
        """0 when the triplet may pass, else the seconds to wait before a retry."""
        now = self.clock()
        network = client_network(ip)
        if await self.store.allowed_until(network, now) > now:
            return 0.0
        key = f"{network}|{sender.lower()}|{recipient.lower()}"
        triplet = await self.store.get(key, now)
        policy = self.policy
        if triplet is None or (
            not triplet.passed and now - triplet.first_seen > policy.retry_window_seconds
        ):
            await self.store.put(key, Triplet(now), now, policy.retry_window_seconds)
            return max(policy.delay_seconds, 1.0)  # a first attempt never passes
        waited = now - triplet.first_seen
        if not triplet.passed and waited < policy.delay_seconds:
            return policy.delay_seconds - waited
        if not triplet.passed:
            await self.store.put(key, Triplet(triplet.first_seen, True), now,
                                 policy.allow_seconds)
            passes = await self.store.count_pass(network, now, policy.allow_seconds)
            if passes >= policy.allow_after_passes:
                await self.store.allow(network, now, now + policy.allow_seconds)
                log.info("hygiene.greylist_allowlisted network=%s", network)
        return 0.0


class GreylistStage:
    """RCPT-time greylisting; clients on a DNSWL are never greylisted."""

    name = "greylist"

    def __init__(self, greylist: Greylist, reputation: Reputation | None = None) -> None:
        self.greylist = greylist
        self.reputation = reputation

    async def check(self, envelope: EnvelopeInput) -> Accept | Reject | TempFail:
        try:
            ipaddress.ip_address(envelope.peer_ip)
        except ValueError:
            return Accept()
        if self.reputation is not None and await self.reputation.is_allow_listed(
                envelope.peer_ip):
            return Accept()
        wait = await self.greylist.check(envelope.peer_ip, envelope.sender, envelope.recipient)
        if wait <= 0:
            return Accept()
        log.info("hygiene.greylisted wait_seconds=%d", wait)
        return TempFail(f"Greylisted, please try again in {int(wait) + 1} seconds", "4.7.1")


class MemoryGreylistStore:
    """One process's greylist (tests, and a single node that may forget on restart)."""

    def __init__(self) -> None:
        self.triplets: dict[str, tuple[float, Triplet]] = {}
        self.networks: dict[str, tuple[float, int, float]] = {}  # expires, passes, until

    async def get(self, key: str, now: float) -> Triplet | None:
        held = self.triplets.get(key)
        return held[1] if held is not None and held[0] > now else None

    async def put(self, key: str, triplet: Triplet, now: float, ttl_seconds: float) -> None:
        if len(self.triplets) >= MAX_MEMORY_ENTRIES:
            self.triplets = {k: v for k, v in self.triplets.items() if v[0] > now}
        self.triplets[key] = (now + ttl_seconds, triplet)

    async def count_pass(self, network: str, now: float, ttl_seconds: float) -> int:
        expires, passes, until = self.networks.get(network, (0.0, 0, 0.0))
        passes = passes + 1 if expires > now else 1
        self.networks[network] = (now + ttl_seconds, passes, until)
        return passes

    async def allow(self, network: str, now: float, until: float) -> None:
        _, passes, _ = self.networks.get(network, (0.0, 0, 0.0))
        self.networks[network] = (until, passes, until)

    async def allowed_until(self, network: str, now: float) -> float:
        expires, _, until = self.networks.get(network, (0.0, 0, 0.0))
        return until if expires > now else 0.0


class RedisGreylistStore:
    """The greylist shared by every node; Redis expiry removes old entries."""

    def __init__(self, client: aioredis.Redis, prefix: str = "tidings:greylist:") -> None:
        self.client = client
        self.PREFIX = prefix

    async def get(self, key: str, now: float) -> Triplet | None:
        raw = await self.client.get(self.PREFIX + "t:" + key)
        if raw is None:
            return None
        data = json.loads(raw)
        return Triplet(float(data["first_seen"]), bool(data["passed"]))

    async def put(self, key: str, triplet: Triplet, now: float, ttl_seconds: float) -> None:
        value = json.dumps({"first_seen": triplet.first_seen, "passed": triplet.passed})
        await self.client.set(self.PREFIX + "t:" + key, value, ex=max(1, int(ttl_seconds)))

    async def count_pass(self, network: str, now: float, ttl_seconds: float) -> int:
        name = self.PREFIX + "p:" + network
        count = int(await self.client.incr(name))
        await self.client.expire(name, max(1, int(ttl_seconds)))
        return count

    async def allow(self, network: str, now: float, until: float) -> None:
        await self.client.set(self.PREFIX + "a:" + network, repr(until),
                              ex=max(1, int(until - now)))

    async def allowed_until(self, network: str, now: float) -> float:
        raw = await self.client.get(self.PREFIX + "a:" + network)
        return float(raw) if raw is not None else 0.0
