"""UTF-8 local parts (RFC 6531 §3.3): stored in NFC, lowercased, found in any spelling."""

from __future__ import annotations

import pytest

from tidings.model.directory import PrincipalKind
from tidings.model.errors import InvalidInput
from tidings.store import SQLStore


async def test_utf8_principal_and_alias_are_found_in_any_case_and_normal_form(
    store: SQLStore,
) -> None:
    await store.directory.create_domain("example.test")
    jose = await store.directory.create_principal(PrincipalKind.USER, "Jösé@example.test")
    assert jose.name == "jösé@example.test"
    await store.directory.add_alias(jose.id, "señor@example.test")
    spellings = ("JO\u0308SE\u0301@example.test", "jösé@EXAMPLE.test", "SEN\u0303OR@example.test")
    for spelling in spellings:
        assert (await store.directory.find_principal(spelling)).id == jose.id


@pytest.mark.parametrize("address", ["a b@example.test", "zero\u200bwidth@example.test",
                                     "é" * 33 + "@example.test"])
async def test_utf8_local_parts_with_spaces_invisibles_or_over_64_octets_are_refused(
    store: SQLStore, address: str
) -> None:
    await store.directory.create_domain("example.test")
    with pytest.raises(InvalidInput):
        await store.directory.create_principal(PrincipalKind.USER, address)
