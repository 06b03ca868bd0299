"""Sequence sets (RFC 9051 §9 `sequence-set`): ranges of numbers, `*` and `$`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """Ranges as written; None stands for `*`. `saved` is SEARCHRES's `$` (RFC 5182)."""

    ranges: tuple[tuple[int | None, int | None], ...] = ()
    saved: bool = False

    def contains(self, number: int, largest: int) -> bool:
        """Whether `number` is in the set, `*` meaning `largest`."""
        for low, high in self.ranges:
            a = largest if low is None else low
            b = largest if high is None else high
            if min(a, b) <= number <= max(a, b):
                return True
        return False

    def select(self, numbers: Sequence[int]) -> list[int]:
        """The members of the sorted `numbers` that the set names (UID semantics:
        numbers not present are ignored; `*` is the largest present, RFC 9051 §6.4.8)."""
        if not numbers:
            return []
        largest = numbers[-1]
        return [n for n in numbers if self.contains(n, largest)]

    def render(self) -> str:
        """The wire form, e.g. "1:4,7,9:*"."""
        if self.saved:
            return "$"

        def one(n: int | None) -> str:
            return "*" if n is None else str(n)

        return ",".join(one(lo) if lo == hi else f"{one(lo)}:{one(hi)}" for lo, hi in self.ranges)


def compress(numbers: Iterable[int]) -> str:
    """Sorted numbers as a compact sequence set string ("1:3,5"); "" if empty."""
    ordered = sorted(set(numbers))
    if not ordered:
        return ""
    parts: list[str] = []
    start = prev = ordered[0]
    for n in ordered[1:]:
        if n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = n
    parts.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(parts)


def parse_sequence_set(text: str) -> SequenceSet | None:
    """Parse a sequence set; None if it is not valid syntax."""
    if text == "$":
        return SequenceSet(saved=True)
    ranges: list[tuple[int | None, int | None]] = []
    for piece in text.split(","):
        ends = piece.split(":")
        if len(ends) > 2:
            return None
        values: list[int | None] = []
        for end in ends:
            if end == "*":
                values.append(None)
            elif end.isdigit() and end.isascii() and end[0] != "0" and len(end) <= 10:
                value = int(end)
                if value > 0xFFFFFFFF:
                    return None
                values.append(value)
            else:
                return None
        ranges.append((values[0], values[-1]))
    return SequenceSet(tuple(ranges))
