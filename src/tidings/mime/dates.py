"""Date-time header values (RFC 5322 §3.3 and the §4.3 obsolete forms) to aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

_COMMENT = re.compile(r"\([^()]*\)")
# Some mailers write "2024-01-31 10:00:00 +0100" or ISO 8601; try that shape too.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def parse_date(value: str | None) -> datetime | None:
    """Parse a Date header to an aware datetime; None when it cannot be understood.

    A zone of "-0000", a missing zone or an obsolete military zone is taken as UTC
    (RFC 5322 §3.3, §4.3).
    """
    if not value:
        return None
    text = _COMMENT.sub(" ", value).strip()
    try:
        parts = parsedate_tz(text)
    except (ValueError, IndexError, TypeError, OverflowError):
        parts = None
    if parts is None:
        return _parse_iso(text)
    year, month, day, hour, minute, second = parts[:6]
    offset = parts[9] or 0
    if abs(offset) >= 86400:
        offset = 0  # an impossible zone: keep the wall-clock time as UTC
    year = _full_year(year, text)
    try:
        zone = timezone(timedelta(seconds=offset)) if offset else UTC
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
    except (ValueError, OverflowError, TypeError):
        return None


def _full_year(year: int, text: str) -> int:
    """RFC 5322 §4.3: two-digit years 00-49 are 2000-2049, 50-99 are 1950-1999;
    three-digit years add 1900."""
    written = re.search(r"\b(\d{2,4})\b\s+\d{1,2}:", text)
    if written is None:
        return year
    digits = written.group(1)
    if len(digits) == 2:
        number = int(digits)
        return 2000 + number if number < 50 else 1900 + number
    if len(digits) == 3:
        return 1900 + int(digits)
    return year


def _parse_iso(text: str) -> datetime | None:
    match = _ISO.search(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    zone_text = match.group(7) or "Z"
    zone = UTC
    if zone_text != "Z":
        digits = zone_text[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        zone = timezone(timedelta(minutes=-minutes if zone_text[0] == "-" else minutes))
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
    except (ValueError, OverflowError):
        return None
