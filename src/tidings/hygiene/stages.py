"""Builds the sender-authentication and reputation stages from the [hygiene] settings:
DATA-time delivery stages (auth, DMARC policy) and RCPT-time envelope stages
(DNSBL/DNSWL, greylisting, rate limits). Called once by the SMTP wiring."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tidings.config import Settings
from tidings.delivery.stages import DeliveryStage, EnvelopeStage
from tidings.hygiene.auth_stage import AuthStage, DMARCPolicyStage
from tidings.hygiene.dns import Resolver
from tidings.hygiene.dnsbl import DNSBLStage, Reputation
from tidings.hygiene.greylist import (
    Greylist,
    GreylistPolicy,
    GreylistStage,
    GreylistStore,
    MemoryGreylistStore,
    RedisGreylistStore,
)
from tidings.hygiene.ratelimit import Buckets, MemoryBuckets, RateLimitStage, RedisBuckets

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HygieneStages:
    delivery: tuple[DeliveryStage, ...] = ()
    envelope: tuple[EnvelopeStage, ...] = ()


def resolver_for(settings: Settings) -> Resolver:
    """The [hygiene] resolver, else the [delivery] one, else the system's."""
    h = settings.hygiene
    nameserver = h.resolver
    if nameserver is None and settings.delivery.resolver is not None:
        nameserver = (settings.delivery.resolver.host, settings.delivery.resolver.port)
    return Resolver(nameserver, timeout_seconds=h.dns_timeout_seconds)


def build_stages(settings: Settings, *, greylist: GreylistStore | None = None) -> HygieneStages:
    """The stages the settings turn on; none at all by default. Greylisting keeps its
    state in Redis when configured, else in `greylist` (the store's), else in memory."""
    h = settings.hygiene
    wants_envelope = bool(h.dnsbl_zones or h.greylisting or h.max_messages_per_ip_per_minute
                          or h.max_messages_per_sender_per_minute)
    if not h.auth_checks and not wants_envelope:
        return HygieneStages()
    dns = resolver_for(settings)
    delivery: list[DeliveryStage] = []
    if h.auth_checks:
        delivery.append(AuthStage(dns, settings.server.hostname))
        if h.dmarc_enforce:
            delivery.append(DMARCPolicyStage())
    envelope: list[EnvelopeStage] = []
    reputation = None
    if h.dnsbl_zones or h.dnswl_zones:
        reputation = Reputation(dns, block_zones=h.dnsbl_zones, allow_zones=h.dnswl_zones)
        if h.dnsbl_zones:
            envelope.append(DNSBLStage(reputation))
    redis_client = None
    if settings.redis.url is not None and (h.greylisting or wants_envelope):
        import redis.asyncio as aioredis

        redis_client = aioredis.from_url(settings.redis.url)
    if h.max_messages_per_ip_per_minute or h.max_messages_per_sender_per_minute:
        buckets: Buckets = RedisBuckets(redis_client) if redis_client else MemoryBuckets()
        envelope.append(RateLimitStage(
            buckets, per_ip_per_minute=h.max_messages_per_ip_per_minute,
            per_sender_per_minute=h.max_messages_per_sender_per_minute,
        ))
    if h.greylisting:
        store: GreylistStore = (RedisGreylistStore(redis_client) if redis_client
                                else greylist or MemoryGreylistStore())
        policy = GreylistPolicy(h.greylist_delay_seconds, h.greylist_retry_window_seconds,
                                h.greylist_allow_after_passes, h.greylist_allow_seconds)
        envelope.append(GreylistStage(Greylist(store, policy), reputation))
    log.info("hygiene.stages delivery=%s envelope=%s",
             ",".join(s.name for s in delivery) or "-", ",".join(s.name for s in envelope) or "-")
    return HygieneStages(tuple(delivery), tuple(envelope))
