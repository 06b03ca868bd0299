"""SASLprep (RFC 4013): the stringprep profile for user names and passwords."""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable

# RFC 4013 §2.3: every table whose characters must not appear in the output.
_PROHIBITED: tuple[Callable[[str], bool], ...] = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(text: str) -> str:
    """Prepare `text` as a stored string (RFC 4013 §2, unassigned code points refused).

    Raises ValueError when the result would hold a prohibited character or break
    the bidirectional rule of RFC 3454 §6.
    """
    # §2.1 mapping: non-ASCII spaces become SPACE, "commonly mapped to nothing" go.
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch)
    )
    # §2.2 normalization: form KC.
    prepared = unicodedata.normalize("NFKC", mapped)
    for ch in prepared:
        if any(in_table(ch) for in_table in _PROHIBITED):
            raise ValueError(f"prohibited character U+{ord(ch):04X}")
        if stringprep.in_table_a1(ch):
            raise ValueError(f"unassigned code point U+{ord(ch):04X}")
    _check_bidi(prepared)
    return prepared


def saslprep_or_raw(text: str) -> str:
    """SASLprep when possible, else the text unchanged.

    Clients differ on what they do with a password SASLprep refuses; sending it
    raw is the common choice (and the one RFC 5802 §5.1 leaves room for).
    """
    try:
        return saslprep(text)
    except ValueError:
        return text


def _check_bidi(text: str) -> None:
    """RFC 3454 §6: right-to-left text must be wholly right-to-left at both ends."""
    has_rtl = any(stringprep.in_table_d1(ch) for ch in text)
    if not has_rtl:
        return
    if any(stringprep.in_table_d2(ch) for ch in text):
        raise ValueError("mixes right-to-left and left-to-right characters")
    if not (stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])):
        raise ValueError("right-to-left text must start and end with a right-to-left character")
