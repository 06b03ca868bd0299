"""Blocked attachment types, inside zips too, without ever inflating a zip bomb."""

from __future__ import annotations

import io
import zipfile

from tidings.hygiene.attachments import (
    ZipLimits,
    attachment_findings,
    extensions,
    name_findings,
    zip_findings,
)

from .messages import zip_of


def kinds(findings: list) -> set[str]:  # type: ignore[type-arg]
    return {f.kind for f in findings}


def test_extensions_are_lower_case_and_ordered() -> None:
    assert extensions("Invoice.PDF.Exe") == ["pdf", "exe"]
    assert extensions("noext") == []


def test_a_double_extension_is_both_executable_and_double() -> None:
    assert kinds(name_findings("invoice.pdf.exe")) == {"executable", "double_extension"}
    assert name_findings("report.pdf") == []


def test_a_nested_zip_is_looked_into() -> None:
    inner = zip_of({"payload.vbs": b"x"})
    outer = zip_of({"inner.zip": inner})
    found = zip_findings("outer.zip", outer)
    assert "zip_executable" in kinds(found)
    assert any(f.filename == "outer.zip/inner.zip/payload.vbs" for f in found)


def test_a_highly_compressed_member_is_reported_as_a_zip_bomb() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * 5_000_000)
    found = zip_findings("bomb.zip", buffer.getvalue(), ZipLimits(max_ratio=100.0))
    assert kinds(found) == {"zip_bomb"}


def test_nesting_beyond_the_limit_is_a_zip_bomb() -> None:
    data = zip_of({"a.txt": b"a"})
    for level in range(4):
        data = zip_of({f"level{level}.zip": data})
    assert "zip_bomb" in kinds(zip_findings("deep.zip", data, ZipLimits(max_depth=2)))


def test_too_many_members_is_a_zip_bomb() -> None:
    data = zip_of({f"f{i}.txt": b"" for i in range(20)})
    assert kinds(zip_findings("many.zip", data, ZipLimits(max_members=10))) == {"zip_bomb"}


def test_garbage_named_zip_is_unreadable_not_an_exception() -> None:
    assert kinds(attachment_findings([("x.zip", b"PK\x03\x04garbage")])) == {"zip_unreadable"}
