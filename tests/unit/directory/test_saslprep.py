"""SASLprep against the examples of RFC 4013 §3."""

from __future__ import annotations

import pytest

from tidings.directory.saslprep import saslprep, saslprep_or_raw


@pytest.mark.parametrize(
    ("given", "prepared"),
    [
        ("I\u00adX", "IX"),  # soft hyphen mapped to nothing
        ("user", "user"),
        ("USER", "USER"),  # case is preserved
        ("\u00aa", "a"),  # NFKC
        ("\u2168", "IX"),  # NFKC
        ("a\u00a0b", "a b"),  # non-ASCII space becomes SPACE
    ],
)
def test_rfc4013_examples_are_prepared(given: str, prepared: str) -> None:
    assert saslprep(given) == prepared


@pytest.mark.parametrize(
    "given",
    [
        "\u0007",  # prohibited control character
        "\u0627\u0031",  # bidi: right-to-left text ending in a left-to-right digit
        "a\u0627",  # mixes left-to-right and right-to-left
        "\U000e0001",  # tagging character
    ],
)
def test_rfc4013_prohibited_strings_are_refused(given: str) -> None:
    with pytest.raises(ValueError):
        saslprep(given)


def test_saslprep_or_raw_keeps_refused_text_unchanged() -> None:
    assert saslprep_or_raw("bell\u0007") == "bell\u0007"
    assert saslprep_or_raw("I\u00adX") == "IX"


def test_right_to_left_text_alone_is_accepted() -> None:
    assert saslprep("\u0627\u0628") == "\u0627\u0628"
