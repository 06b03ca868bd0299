"""Helpers shared by the IMAP unit tests: drive the parser over chunks."""

from __future__ import annotations

from tidings.imap.parser import NEED_DATA, ContinueRequest, IMAPParser, Limits, ParserEvent


def parse_chunks(chunks: list[bytes], limits: Limits | None = None) -> list[ParserEvent]:
    """Every event except NEED_DATA and continuation requests, in order."""
    parser = IMAPParser(limits)
    events: list[ParserEvent] = []
    for chunk in chunks:
        parser.receive_data(chunk)
        while (event := parser.next_event()) is not NEED_DATA:
            if not isinstance(event, ContinueRequest):
                events.append(event)
    return events


def parse_one(line: bytes) -> ParserEvent:
    events = parse_chunks([line])
    assert len(events) == 1, events
    return events[0]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces
