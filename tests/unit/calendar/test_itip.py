"""iTIP building and reading (RFC 5546): REQUEST, REPLY, CANCEL, PARTSTAT, changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tidings.calendar.ical import parse_calendar
from tidings.calendar.itip import (
    Method,
    apply_reply,
    attendees_of,
    build_cancel,
    build_reply,
    build_request,
    cancelled_instances,
    exclude_instances,
    is_significant_change,
    is_timing_change,
    organizer_of,
    parse_itip,
    partstat_of,
    partstats,
    set_partstat,
    stored_form,
    with_member,
)
from tidings.model.errors import InvalidInput

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:meeting-1
DTSTAMP:20300101T000000Z
DTSTART:20300305T090000Z
DTEND:20300305T100000Z
SEQUENCE:2
SUMMARY:Planning
ORGANIZER;CN=Alice:mailto:Alice@Example.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.test
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.test
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@remote.test
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT10M
DESCRIPTION:soon
END:VALARM
END:VEVENT
END:VCALENDAR
"""


def test_organizer_and_attendees_are_bare_lower_case_addresses() -> None:
    calendar = parse_calendar(EVENT)
    assert organizer_of(calendar) == "alice@example.test"
    assert attendees_of(calendar) == [
        "alice@example.test", "bob@example.test", "carol@remote.test"
    ]


def test_request_carries_method_sequence_and_no_alarm() -> None:
    text = build_request(parse_calendar(EVENT))
    message = parse_itip(text)
    assert message.method is Method.REQUEST
    assert message.uid == "meeting-1"
    assert message.sequence == 2
    assert "VALARM" not in text


def test_reply_names_only_the_replying_attendee_with_the_new_partstat() -> None:
    text = build_reply(parse_calendar(EVENT), "bob@example.test", "ACCEPTED")
    message = parse_itip(text)
    assert message.method is Method.REPLY
    assert message.attendees == ("bob@example.test",)
    assert partstat_of(parse_calendar(text), "bob@example.test") == "ACCEPTED"
    assert "RSVP" not in text


def test_cancel_sets_status_and_moves_the_sequence_on() -> None:
    text = build_cancel(parse_calendar(EVENT), ["carol@remote.test"])
    message = parse_itip(text)
    assert message.method is Method.CANCEL
    assert message.sequence == 3
    assert message.attendees == ("carol@remote.test",)
    assert "STATUS:CANCELLED" in text


def test_apply_reply_updates_the_organizer_copy_once() -> None:
    organizer_copy = parse_calendar(EVENT)
    reply = parse_calendar(build_reply(parse_calendar(EVENT), "bob@example.test", "DECLINED"))
    assert apply_reply(organizer_copy, reply) is True
    assert partstat_of(organizer_copy, "bob@example.test") == "DECLINED"
    assert apply_reply(organizer_copy, reply) is False


def test_partstat_changes_are_not_significant_but_time_changes_are() -> None:
    old = parse_calendar(EVENT)
    answered = parse_calendar(EVENT)
    set_partstat(answered, "bob@example.test", "ACCEPTED")
    assert not is_significant_change(old, answered)
    moved = parse_calendar(EVENT.replace("DTSTART:20300305T090000Z", "DTSTART:20300305T083000Z"))
    assert is_significant_change(old, moved)
    assert is_timing_change(old, moved)
    renamed = parse_calendar(EVENT.replace("SUMMARY:Planning", "SUMMARY:Plans"))
    assert is_significant_change(old, renamed)
    assert not is_timing_change(old, renamed)


def test_set_partstat_refuses_an_unknown_status() -> None:
    with pytest.raises(InvalidInput):
        set_partstat(parse_calendar(EVENT), "bob@example.test", "MAYBE")


def test_a_calendar_without_method_is_not_an_itip_message() -> None:
    with pytest.raises(InvalidInput):
        parse_itip(EVENT)


def test_stored_form_drops_the_method() -> None:
    text = stored_form(parse_calendar(build_request(parse_calendar(EVENT))))
    assert "METHOD" not in text
    assert "UID:meeting-1" in text


WEEKLY = EVENT.replace("SEQUENCE:2\n", "SEQUENCE:2\nRRULE:FREQ=WEEKLY;COUNT=4\n")

ONE_INSTANCE_DECLINED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
METHOD:REPLY
BEGIN:VEVENT
UID:meeting-1
DTSTAMP:20300101T000000Z
RECURRENCE-ID:20300312T090000Z
ORGANIZER:mailto:alice@example.test
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.test
END:VEVENT
END:VCALENDAR
"""


def test_an_answer_for_one_instance_overrides_only_that_instance() -> None:
    organizer_copy = parse_calendar(WEEKLY)
    assert apply_reply(organizer_copy, parse_calendar(ONE_INSTANCE_DECLINED)) is True
    answers = partstats(organizer_copy, "bob@example.test")
    assert answers == {None: "NEEDS-ACTION", "2030-03-12T09:00:00+00:00": "DECLINED"}
    override = next(c for c in organizer_copy.walk("VEVENT") if c.get("RECURRENCE-ID"))
    assert override.get("RRULE") is None
    assert override["DTEND"].dt - override["DTSTART"].dt == timedelta(hours=1)
    # The same answer again changes nothing, and adds no second override.
    assert apply_reply(organizer_copy, parse_calendar(ONE_INSTANCE_DECLINED)) is False
    assert len(organizer_copy.walk("VEVENT")) == 2


def test_an_instance_answer_equal_to_the_series_answer_adds_no_override() -> None:
    organizer_copy = parse_calendar(WEEKLY)
    same = ONE_INSTANCE_DECLINED.replace("PARTSTAT=DECLINED", "PARTSTAT=NEEDS-ACTION")
    assert apply_reply(organizer_copy, parse_calendar(same)) is False
    assert len(organizer_copy.walk("VEVENT")) == 1


def test_a_group_member_is_listed_in_their_copy_and_accepted_back() -> None:
    team = EVENT.replace(
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@remote.test",
        "ATTENDEE;CUTYPE=GROUP:mailto:team@example.test",
    )
    text = with_member(build_request(parse_calendar(team)), "dan@example.test", "team@example.test")
    member_copy = parse_calendar(text)
    assert partstat_of(member_copy, "dan@example.test") == "NEEDS-ACTION"
    reply = parse_calendar(build_reply(member_copy, "dan@example.test", "ACCEPTED"))
    organizer_copy = parse_calendar(team)
    assert apply_reply(organizer_copy, reply) is True
    assert partstat_of(organizer_copy, "dan@example.test") == "ACCEPTED"
    crasher = ONE_INSTANCE_DECLINED.replace("RECURRENCE-ID:20300312T090000Z\n", "").replace(
        "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.test",
        'ATTENDEE;PARTSTAT=ACCEPTED;MEMBER="mailto:other@example.test":mailto:eve@example.test',
    )
    assert apply_reply(organizer_copy, parse_calendar(crasher)) is False
    assert partstat_of(organizer_copy, "eve@example.test") is None


def test_a_cancel_of_one_instance_excludes_only_that_instance() -> None:
    cancel = parse_calendar(ONE_INSTANCE_DECLINED.replace("METHOD:REPLY", "METHOD:CANCEL"))
    recurrences = cancelled_instances(cancel)
    assert recurrences is not None and len(recurrences) == 1
    copy_ = parse_calendar(WEEKLY)
    copy_.add_component(next(iter(cancel.walk("VEVENT"))))  # an override of that instance
    assert exclude_instances(copy_, recurrences) is True
    events = copy_.walk("VEVENT")
    assert len(events) == 1 and "EXDATE:20300312T090000Z" in copy_.to_ical().decode()
    assert cancelled_instances(parse_calendar(build_cancel(parse_calendar(WEEKLY)))) is None
