"""Outbound delivery: MX resolution, SMTP client, retry scheduler and DSNs.

The server starts it with `await run_outbound(ctx, stop_event)` (see `service.py`)."""

from tidings.delivery.outbound.service import build_scheduler, run_outbound

__all__ = ["build_scheduler", "run_outbound"]
