"""Folder access rights (RFC 4314) as a set of single-letter rights."""

from __future__ import annotations

import enum


class Right(enum.StrEnum):
    LOOKUP = "l"
    READ = "r"
    SEEN = "s"
    WRITE = "w"
    INSERT = "i"
    POST = "p"
    CREATE = "k"
    DELETE_MAILBOX = "x"
    DELETE_MESSAGES = "t"
    EXPUNGE = "e"
    ADMINISTER = "a"


ALL_RIGHTS = frozenset(Right)
READ_ONLY = frozenset({Right.LOOKUP, Right.READ, Right.SEEN})


def parse_rights(text: str) -> frozenset[Right]:
    """Parse an RFC 4314 rights string; obsolete "c" and "d" expand as §2.1.1 says.

    Raises ValueError on an unknown right letter.
    """
    rights: set[Right] = set()
    for letter in text:
        if letter == "c":
            rights.add(Right.CREATE)
        elif letter == "d":
            rights.update({Right.DELETE_MESSAGES, Right.EXPUNGE})
        else:
            rights.add(Right(letter))
    return frozenset(rights)


def format_rights(rights: frozenset[Right]) -> str:
    """Rights in the RFC's canonical letter order."""
    return "".join(r.value for r in Right if r in rights)
