"""Resource booking decisions (rooms, equipment): pure policy over the facts the
scheduler gathered. Every decision becomes an iTIP REPLY (RFC 5546 §3.2.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tidings.model.directory import ResourcePolicy


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """What a booking decision looks at."""

    start: datetime  # the first instance (UTC)
    end: datetime  # the first instance's end (UTC)
    may_book: bool  # the organizer is among the policy's bookers (or bookers is empty)
    participants: int  # people invited (the resource itself not counted)
    conflicts: bool  # an instance overlaps an accepted booking of another event


@dataclass(frozen=True, slots=True)
class Decision:
    partstat: str  # ACCEPTED, DECLINED, or NEEDS-ACTION (left for a delegate)
    reason: str


def decide(policy: ResourcePolicy, request: BookingRequest, now: datetime) -> Decision:
    """Apply the policy in a fixed order; the first failed rule declines."""
    if not request.may_book:
        return Decision("DECLINED", "the organizer may not book this resource")
    duration = request.end - request.start
    if policy.max_duration_minutes is not None and duration > timedelta(
        minutes=policy.max_duration_minutes
    ):
        return Decision("DECLINED", f"longer than {policy.max_duration_minutes} minutes")
    if policy.booking_window_days is not None and request.start > now + timedelta(
        days=policy.booking_window_days
    ):
        return Decision("DECLINED", f"more than {policy.booking_window_days} days ahead")
    if policy.capacity is not None and request.participants > policy.capacity:
        return Decision("DECLINED", f"more than {policy.capacity} participants")
    if request.conflicts and not policy.allow_conflicts:
        return Decision("DECLINED", "the resource is already booked then")
    if not policy.auto_accept:
        return Decision("NEEDS-ACTION", "waiting for the resource's delegate")
    return Decision("ACCEPTED", "booked")
