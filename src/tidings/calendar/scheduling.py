"""Implicit scheduling (RFC 6638 §3): what follows a stored change to an event with
attendees. The organizer's saves send REQUEST/CANCEL, an attendee's new PARTSTAT
sends a REPLY; internal calendar users get them in their schedule inbox and calendar,
rooms and equipment answer by their booking policy, external ones get iMIP mail.

Writes into another user's collections are made as that user (the system delivering
to them); the caller has already checked the rights of whoever made the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import icalendar

from tidings.calendar.availability import Availability
from tidings.calendar.delegation import require_delegate, with_sent_by
from tidings.calendar.ical import parse_calendar
from tidings.calendar.imip import IMIPSender, QueueIMIPSender, build_imip, utcnow
from tidings.calendar.itip import (
    ITIPMessage,
    Method,
    attendees_of,
    build_cancel,
    build_reply,
    build_request,
    cancelled_instances,
    is_cancelled,
    is_significant_change,
    organizer_of,
    parse_itip,
    partstat_of,
    partstats,
    with_member,
)
from tidings.calendar.resources import ResourceDesk
from tidings.calendar.schedule_store import ScheduleStore
from tidings.model.directory import Principal, PrincipalKind
from tidings.model.errors import InvalidInput, NotFound, TidingsError
from tidings.model.ids import PrincipalId
from tidings.store.services import BlobStore, DAVService, DirectoryService, QueueService

log = logging.getLogger(__name__)

MAX_GROUP_MEMBERS = 500  # an invited distribution list is expanded to at most this many


@dataclass(slots=True)
class Outcome:
    """What one scheduling run did (tests and the DAV layer read it)."""

    delivered: list[str] = field(default_factory=list)  # internal addresses
    mailed: list[str] = field(default_factory=list)  # external addresses
    owner_copy_changed: bool = False  # the triggering object was rewritten (a REPLY)
    trigger: PrincipalId | None = None  # whose change started the run
    sent_by: str | None = None  # a delegate answering for the owner (RFC 5545 §3.2.18)


class Scheduler:
    """The scheduling service; `object_changed` runs after every committed PUT/DELETE
    of a calendar object, `receive_imip` for iTIP mail addressed to a local user."""

    def __init__(
        self,
        dav: DAVService,
        directory: DirectoryService,
        sender: IMIPSender | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.directory = directory
        self.sender = sender
        self.clock = clock
        self.store = ScheduleStore(dav)
        self.availability = Availability(dav)
        self.desk = ResourceDesk(directory, self.availability, clock)

    async def addresses(self, principal: Principal) -> set[str]:
        """The calendar user addresses of a principal: its name and aliases."""
        aliases = await self.directory.list_aliases(principal.id)
        return {principal.name.lower(), *(a.lower() for a in aliases)}

    # --- after a change in the owner's calendar ------------------------------------
    async def object_changed(
        self, owner: Principal, old: str | None, new: str | None,
        *, actor: Principal | None = None,
    ) -> Outcome:
        """RFC 6638 §3.2: send what the change calls for; a REPLY made by `actor` for
        the owner carries SENT-BY. Never raises for a delivery that fails (the change
        itself is committed); such failures are logged."""
        outcome = Outcome(trigger=owner.id)
        if actor is not None and int(actor.id) != int(owner.id):
            outcome.sent_by = actor.name
        old_cal, new_cal = _parse(old), _parse(new)
        current = new_cal or old_cal
        if current is None:
            return outcome
        organizer = organizer_of(current)
        if not organizer:
            return outcome
        mine = await self.addresses(owner)
        try:
            if organizer in mine:
                await self._as_organizer(owner, organizer, old_cal, new_cal, outcome)
            else:
                me = next((a for a in attendees_of(current) if a in mine), None)
                if me is not None:
                    await self._as_attendee(owner, me, organizer, old_cal, new_cal, outcome)
        except TidingsError as error:
            log.warning(
                "scheduling.failed owner=%s error=%s detail=%s",
                owner.name, type(error).__name__, error,
            )
        return outcome

    async def _as_organizer(
        self,
        owner: Principal,
        organizer: str,
        old: icalendar.Calendar | None,
        new: icalendar.Calendar | None,
        outcome: Outcome,
    ) -> None:
        before = set(attendees_of(old)) - {organizer} if old is not None else set()
        if new is None or is_cancelled(new):
            if old is not None and not is_cancelled(old) and before:
                source = new if new is not None else old
                await self._send(owner, organizer, source, build_cancel(source), before, outcome)
            return
        now = [a for a in attendees_of(new) if a != organizer]
        removed = before - set(now)
        if removed and old is not None:
            cancel = build_cancel(old, removed)
            await self._send(owner, organizer, old, cancel, removed, outcome)
        if old is None or is_significant_change(old, new):
            targets: Sequence[str] = now
        else:
            targets = [a for a in now if a not in before]
        if targets:
            await self._send(owner, organizer, new, build_request(new), targets, outcome)

    async def _as_attendee(
        self,
        owner: Principal,
        me: str,
        organizer: str,
        old: icalendar.Calendar | None,
        new: icalendar.Calendar | None,
        outcome: Outcome,
    ) -> None:
        if not _reply_due(me, old, new):
            return
        if new is not None:
            source, text = new, build_reply(new, me)
        elif old is not None:
            # RFC 6638 §3.2.2.3: an attendee removing the event declines it.
            source, text = old, build_reply(old, me, "DECLINED")
        else:
            return
        if outcome.sent_by is not None:
            text = with_sent_by(text, me, outcome.sent_by)
        await self._send(owner, me, source, text, [organizer], outcome)

    async def check_actor(
        self, actor: Principal, owner: Principal, old: str | None, new: str | None
    ) -> None:
        """Before a change by `actor` in the owner's calendar is committed: a change
        that would answer an invitation as the owner needs a delegate (RFC 6638 §3.2.2).
        Raises PermissionDenied."""
        if int(actor.id) == int(owner.id):
            return
        old_cal, new_cal = _parse(old), _parse(new)
        current = new_cal or old_cal
        if current is None:
            return
        organizer = organizer_of(current)
        mine = await self.addresses(owner)
        if not organizer or organizer in mine:
            return
        me = next((a for a in attendees_of(current) if a in mine), None)
        if me is not None and _reply_due(me, old_cal, new_cal):
            await require_delegate(self.directory, actor, owner)

    # --- routing one iTIP message --------------------------------------------------
    async def _send(
        self,
        owner: Principal,
        sender: str,
        calendar: icalendar.Calendar,
        text: str,
        recipients: Sequence[str] | set[str],
        outcome: Outcome,
    ) -> None:
        """Deliver internally where the directory knows the address, mail the rest."""
        message = parse_itip(text)
        external: list[str] = []
        for address in sorted(recipients):
            targets = await self._targets(address)
            if targets is None:
                external.append(address)
                continue
            for principal, answering_as in targets:
                if answering_as != address:
                    # A member of an invited group answers as themselves (RFC 5545
                    # §3.2.11 MEMBER): their copy lists them.
                    member_text = with_member(message.text, answering_as, address)
                    one = parse_itip(member_text)
                else:
                    one = message
                await self.deliver(principal, answering_as, one, outcome)
                outcome.delivered.append(answering_as)
        if external:
            await self._mail(owner, sender, calendar, message, external)
            outcome.mailed.extend(external)

    async def _targets(self, address: str) -> list[tuple[Principal, str]] | None:
        """Who gets a message for `address` and the address each answers as: the
        principal, a group's members (REQUEST and CANCEL), nobody for a disabled
        account; None for an address the directory does not know (external)."""
        try:
            principal = await self.directory.find_principal(address)
        except NotFound:
            return None
        if principal.kind is PrincipalKind.GROUP:
            members = await self.directory.expand_group(principal.id)
            return [(m, m.name) for m in members if m.enabled and m.name != address][
                :MAX_GROUP_MEMBERS
            ]
        return [(principal, address)] if principal.enabled else []

    async def local_principal(self, address: str) -> Principal | None:
        """The enabled, data-owning principal of a local address; None: external."""
        try:
            principal = await self.directory.find_principal(address)
        except NotFound:
            return None
        return principal if principal.kind.owns_data and principal.enabled else None

    async def _mail(
        self,
        owner: Principal,
        sender: str,
        calendar: icalendar.Calendar,
        message: ITIPMessage,
        recipients: list[str],
    ) -> None:
        if self.sender is None:
            log.warning("scheduling.no_imip_sender recipients=%d", len(recipients))
            return
        summary = _summary(calendar)
        raw = build_imip(message, sender, recipients, summary, self.clock())
        await self.sender.send(sender, recipients, raw, owner.id)
        log.info(
            "scheduling.imip_sent method=%s uid=%s recipients=%d",
            message.method.value, message.uid, len(recipients),
        )

    async def deliver(
        self,
        recipient: Principal,
        address: str,
        message: ITIPMessage,
        outcome: Outcome,
    ) -> None:
        """Process one iTIP message for a local calendar user (RFC 6638 §4)."""
        calendar = parse_calendar(message.text)
        await self.store.to_inbox(recipient, message.text)
        log.info(
            "scheduling.delivered method=%s uid=%s to=%s",
            message.method.value, message.uid, recipient.name,
        )
        match message.method:
            case Method.REQUEST:
                if self.desk.handles(recipient):
                    await self._book(recipient, address, message, calendar, outcome)
                else:
                    await self.store.accept_request(recipient, address, calendar)
            case Method.CANCEL:
                instances = cancelled_instances(calendar)
                if instances is None:
                    await self.store.remove_copies(recipient, message.uid, message.sequence)
                else:
                    await self.store.cancel_instances(recipient, message.uid, instances)
            case Method.REPLY:
                changed = await self.store.apply_to_organizer(recipient, message.uid, calendar)
                if changed and outcome.trigger == recipient.id:
                    outcome.owner_copy_changed = True

    async def _book(
        self,
        resource: Principal,
        address: str,
        message: ITIPMessage,
        calendar: icalendar.Calendar,
        outcome: Outcome,
    ) -> None:
        decision = await self.desk.decide(resource, address, message, calendar)
        log.info(
            "scheduling.booking resource=%s uid=%s partstat=%s reason=%s",
            resource.name, message.uid, decision.partstat, decision.reason,
        )
        if decision.partstat == "DECLINED":
            await self.store.remove_copies(resource, message.uid)
        else:
            await self.store.accept_request(resource, address, calendar, decision.partstat)
        if decision.partstat == "NEEDS-ACTION" or not message.organizer:
            return
        reply = build_reply(calendar, address, decision.partstat)
        await self._send(resource, address, calendar, reply, [message.organizer], outcome)

    # --- iMIP arriving by mail -------------------------------------------------------
    async def receive_imip(
        self, recipient: Principal, text: str, senders: Sequence[str]
    ) -> Outcome:
        """RFC 6047 §3: an iTIP message mailed to a local user. A REQUEST or CANCEL
        must come from its ORGANIZER, a REPLY from one of its ATTENDEEs (`senders`:
        the envelope and From: addresses). Raises InvalidInput for anything else."""
        message = parse_itip(text)
        claimed = {s.lower() for s in senders if s}
        mine = await self.addresses(recipient)
        if message.method is Method.REPLY:
            if message.organizer not in mine or not claimed & set(message.attendees):
                raise InvalidInput("the REPLY is not from an attendee of this user's event")
            address = message.organizer
        else:
            if message.organizer not in claimed or message.organizer in mine:
                raise InvalidInput("the iTIP message is not from the event's organizer")
            targets = [a for a in message.attendees if a in mine]
            if not targets:
                raise InvalidInput("this user is not an attendee of the event")
            address = targets[0]
        outcome = Outcome()
        await self.deliver(recipient, address, message, outcome)
        outcome.delivered.append(address)
        return outcome


def _reply_due(me: str, old: icalendar.Calendar | None, new: icalendar.Calendar | None) -> bool:
    """Whether the attendee `me` answers with this change: a removal of a live
    invitation not yet declined, or per instance an answer other than NEEDS-ACTION
    that differs from the one held before (an instance without an override held the
    series' answer)."""
    if new is None:
        return old is not None and not is_cancelled(old) and partstat_of(old, me) != "DECLINED"
    before = partstats(old, me) if old is not None else {}
    return any(
        answer != before.get(key, before.get(None)) and answer != "NEEDS-ACTION"
        for key, answer in partstats(new, me).items()
    )


def _parse(text: str | None) -> icalendar.Calendar | None:
    if text is None:
        return None
    try:
        return parse_calendar(text)
    except InvalidInput:
        return None


def _summary(calendar: icalendar.Calendar) -> str:
    for component in calendar.walk():
        if component.name in ("VEVENT", "VTODO") and component.get("SUMMARY") is not None:
            return str(component["SUMMARY"])
    return ""



class StoreParts(Protocol):
    """The parts of an opened store the scheduler needs (a `Store` has them)."""

    @property
    def dav(self) -> DAVService: ...
    @property
    def directory(self) -> DirectoryService: ...
    @property
    def blobs(self) -> BlobStore: ...
    @property
    def queue(self) -> QueueService: ...


def build_scheduler(
    store: StoreParts, on_enqueued: Callable[[], None] | None = None
) -> Scheduler:
    """The composition root's one call: a scheduler mailing through the queue."""
    sender = QueueIMIPSender(store.blobs, store.queue, on_enqueued)
    return Scheduler(store.dav, store.directory, sender)
