"""RFC 5256 §2.1 base subject, used by SORT (SUBJECT) and THREAD (REFERENCES/ORDEREDSUBJECT).

Comparisons of base subjects should be case-insensitive (i;unicode-casemap); the text
is returned as written.
"""

from __future__ import annotations

import re

from tidings.mime.encoded_words import decode_encoded_words

_BLANKS = re.compile(r"[ \t\r\n]+")
# subj-blob = "[" *BLOBCHAR "]" *WSP
_BLOB = r"\[[^\[\]]*\]\s*"
# subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
_REFWD = rf"(?:re|fwd?)\s*(?:{_BLOB})?:"
# subj-leader = (*subj-blob subj-refwd) / WSP
_LEADER = re.compile(rf"^(?:(?:{_BLOB})*{_REFWD}|\s)", re.IGNORECASE)
_LEADING_BLOB = re.compile(rf"^{_BLOB}")
_FWD = re.compile(r"^\[fwd:(.*)\]$", re.IGNORECASE | re.DOTALL)
_MAX_ROUNDS = 1000  # every round removes text, so this bounds even adversarial input
_MAX_CHARS = 8192  # subjects longer than this are cut first (bounds the regex work)


def base_subject(subject: str | None) -> str:
    """Extract the base subject: no Re:/Fw:/Fwd: leaders, [blob] prefixes or (fwd) trailers."""
    if not subject:
        return ""
    # Step 1: decode encoded words, turn runs of whitespace into one space.
    text = _BLANKS.sub(" ", decode_encoded_words(subject[:_MAX_CHARS]))
    for _ in range(_MAX_ROUNDS):
        text = _strip_trailers(text)  # step 2
        text = _strip_leaders(text)  # steps 3 to 5
        wrapped = _FWD.match(text)  # step 6: "[fwd: ...]"
        if wrapped is None:
            break
        text = wrapped.group(1)
    return text.strip()


def _strip_trailers(text: str) -> str:
    """Remove subj-trailer = "(fwd)" / WSP from the end, repeatedly (a loop, not a
    regex: an unanchored "(...)+$" is quadratic on long runs)."""
    while True:
        text = text.rstrip(" \t")
        if text[-5:].lower() != "(fwd)":
            return text
        text = text[:-5]


def _strip_leaders(text: str) -> str:
    for _ in range(_MAX_ROUNDS):
        before = text
        text = _LEADER.sub("", text, count=1)  # step 3
        blob = _LEADING_BLOB.match(text)
        if blob is not None and text[blob.end() :].strip():
            text = text[blob.end() :]  # step 4: only if something is left
        if text == before:
            break
    return text
