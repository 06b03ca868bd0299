"""Canonical domain names (IDNA A-labels) and addresses."""

from __future__ import annotations

import pytest

from tidings.directory.addresses import normalize_address, normalize_domain
from tidings.model.errors import InvalidInput


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Example.COM", "example.com"),
        (" example.com. ", "example.com"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008, not 2003's "fass.de"
        ("localhost", "localhost"),
    ],
)
def test_domains_become_lowercase_a_labels(given: str, canonical: str) -> None:
    assert normalize_domain(given) == canonical


@pytest.mark.parametrize(
    "given",
    [
        "",
        ".",
        "a..b",
        "-a.com",
        "a-.com",
        "exa_mple.com",
        "[192.0.2.1]",
        "x" * 64 + ".com",
        ".".join(["a" * 60] * 5),
        "exa mple.com",
    ],
)
def test_invalid_domains_raise_invalid_input_on_the_domain_field(given: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        normalize_domain(given)
    assert invalid.value.field == "domain"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Tim@Example.com", "tim@example.com"),
        ("first.last+tag@example.com", "first.last+tag@example.com"),
        ("jörg@münchen.de", "jörg@xn--mnchen-3ya.de"),
        ("o'brien@example.com", "o'brien@example.com"),
    ],
)
def test_addresses_are_canonicalised(given: str, canonical: str) -> None:
    assert normalize_address(given) == canonical


@pytest.mark.parametrize(
    "given",
    [
        "",
        "tim",
        "tim@@example.com",
        "a@b@example.com",
        "@example.com",
        "tim@",
        ".tim@example.com",
        "tim.@example.com",
        "ti..m@example.com",
        "ti m@example.com",
        '"tim"@example.com',
        "tim\x00@example.com",
        "x" * 65 + "@example.com",
        "tim@exa_mple.com",
    ],
)
def test_invalid_addresses_raise_invalid_input(given: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        normalize_address(given, field="alias")
    assert invalid.value.field == "alias"


def test_utf8_local_part_is_kept_in_nfc_and_lowercased() -> None:
    assert normalize_address("JO\u0308SE\u0301@Example.Test") == "jösé@example.test"
