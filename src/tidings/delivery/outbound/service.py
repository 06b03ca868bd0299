"""Wiring of outbound delivery from the settings: `build_scheduler` for tests and
tools, `run_outbound(ctx, stop)` for the server's composition root."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from tidings.config import DeliverySettings, Settings
from tidings.context import ServerContext
from tidings.delivery.outbound.backoff import RetrySchedule
from tidings.delivery.outbound.client import ClientSettings, TLSMode
from tidings.delivery.outbound.notices import NoticeSender
from tidings.delivery.outbound.resolver import MXResolver
from tidings.delivery.outbound.scheduler import (
    Clock,
    OutboundScheduler,
    OutboundSettings,
    utc_now,
)
from tidings.delivery.outbound.stages import OutboundStage
from tidings.store.services import Store


def outbound_settings(settings: Settings) -> OutboundSettings:
    """The scheduler's settings from `[server] hostname` and `[delivery]`."""
    d: DeliverySettings = settings.delivery
    hostname = settings.server.hostname
    mx_client = ClientSettings(
        hostname=hostname,
        connect_timeout=d.connect_timeout_seconds,
        command_timeout=d.command_timeout_seconds,
    )
    smarthost = None
    smarthost_client = None
    if d.smarthost is not None:
        smarthost = (d.smarthost.host, d.smarthost.port)
        mode = TLSMode(d.smarthost_tls.value)
        smarthost_client = ClientSettings(
            hostname=hostname,
            connect_timeout=d.connect_timeout_seconds,
            command_timeout=d.command_timeout_seconds,
            tls=mode,
            username=d.smarthost_user,
            password=d.smarthost_password,
            # A relay we hand a password to is checked against the system's CAs.
            tls_context=(
                ssl.create_default_context()
                if mode in (TLSMode.REQUIRED, TLSMode.IMPLICIT)
                else None
            ),
        )
    return OutboundSettings(
        hostname=hostname,
        schedule=RetrySchedule.from_seconds(
            d.retry_schedule_seconds, d.give_up_after_seconds, d.delay_notice_after_seconds
        ),
        mx_client=mx_client,
        smarthost=smarthost,
        smarthost_client=smarthost_client,
        max_concurrent=d.max_concurrent_deliveries,
        poll_interval=d.poll_interval_seconds,
        lease_seconds=d.lease_seconds,
    )


def build_scheduler(
    settings: Settings,
    store: Store,
    *,
    clock: Clock = utc_now,
    stages: Sequence[OutboundStage] = (),
) -> OutboundScheduler:
    """An OutboundScheduler over the store's queue, configured from `settings`."""
    d = settings.delivery
    nameserver = (d.resolver.host, d.resolver.port) if d.resolver is not None else None
    return OutboundScheduler(
        queue=store.queue,
        blobs=store.blobs,
        notices=NoticeSender(
            mail=store.mail, queue=store.queue, blobs=store.blobs, directory=store.directory
        ),
        resolver=MXResolver(nameserver, port=d.mx_port),
        settings=outbound_settings(settings),
        clock=clock,
        stages=stages,
    )


async def run_outbound(
    ctx: ServerContext,
    stop: asyncio.Event,
    *,
    stages: Sequence[OutboundStage] = (),
) -> None:
    """Deliver the outbound queue until `stop` is set (the server's background task);
    a message queued through `ctx.enqueued` is picked up at once."""
    scheduler = build_scheduler(ctx.settings, ctx.store, stages=stages)
    ctx.enqueued.connect(scheduler.wake)
    await scheduler.run(stop)
