"""Housekeeping the running server does on a timer: collecting orphan blobs.

Expunged messages and removed principals leave their blobs behind on purpose (a
delivery in flight may be storing the same bytes again); this task collects the
ones nothing has used for a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import cast

from tidings.model.errors import TemporaryFailure
from tidings.store.check import CheckableStore, reclaim_orphan_blobs
from tidings.store.services import Store

log = logging.getLogger(__name__)


async def run_maintenance(
    store: Store,
    stopping: asyncio.Event,
    *,
    interval: timedelta = timedelta(hours=1),
    blob_grace: timedelta = timedelta(days=1),
) -> None:
    """Every `interval` until `stopping` is set: reclaim orphan blobs older than
    `blob_grace`. A failed round is logged and retried at the next one."""
    checkable = cast(CheckableStore, store)
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval.total_seconds())
            return
        try:
            reclaimed = await reclaim_orphan_blobs(checkable, grace=blob_grace)
        except (TemporaryFailure, OSError) as exc:
            log.warning("maintenance.reclaim_failed error=%s", exc)
            continue
        if reclaimed:
            log.info("maintenance.blobs_reclaimed count=%d", reclaimed)
