"""Blocked attachment types: executables and scripts by name, double extensions, disk
images, and the same looked for inside zip archives with size and ratio limits so a
zip bomb costs nothing (only the central directory is read, never the data)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "scr", "js", "jse", "vbs", "vbe", "bat", "cmd", "com", "pif", "cpl", "msi",
    "msp", "jar", "ps1", "psm1", "hta", "wsf", "wsh", "lnk", "reg", "dll", "sys",
})
DISK_IMAGE_EXTENSIONS = frozenset({"iso", "img", "vhd", "vhdx"})
# Extensions a victim trusts, seen before an executable one: "invoice.pdf.exe".
DOCUMENT_EXTENSIONS = frozenset({
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "jpg", "jpeg", "png",
    "gif", "rtf", "odt", "csv", "html", "htm", "zip",
})
ZIP_EXTENSIONS = frozenset({"zip"})


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_archive_bytes: int = 20 * 1024 * 1024
    max_members: int = 1000
    max_total_uncompressed: int = 200 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, per member
    max_depth: int = 2  # zips inside zips


@dataclass(frozen=True, slots=True)
class AttachmentFinding:
    """One reason to distrust an attachment; `kind` names the rule it feeds."""

    kind: str  # "executable", "double_extension", "disk_image", "zip_executable",
    #            "zip_bomb", "zip_encrypted", "zip_unreadable"
    filename: str  # "archive.zip/inner.exe" for members


def extensions(filename: str) -> list[str]:
    """Lower-case extensions in order: "a.PDF.exe" -> ["pdf", "exe"]."""
    base = filename.replace("\\", "/").rpartition("/")[2].strip().strip(".")
    return [part.lower().strip() for part in base.split(".")[1:] if part.strip()]


def name_findings(filename: str, *, inside: str = "") -> list[AttachmentFinding]:
    """Findings from a file name alone."""
    shown = f"{inside}/{filename}" if inside else filename
    exts = extensions(filename)
    if not exts:
        return []
    found: list[AttachmentFinding] = []
    last = exts[-1]
    if last in EXECUTABLE_EXTENSIONS:
        found.append(AttachmentFinding("zip_executable" if inside else "executable", shown))
        if len(exts) >= 2 and exts[-2] in DOCUMENT_EXTENSIONS:
            found.append(AttachmentFinding("double_extension", shown))
    elif last in DISK_IMAGE_EXTENSIONS:
        found.append(AttachmentFinding("disk_image", shown))
    return found


def is_zip(filename: str, data: bytes | None) -> bool:
    return data is not None and (
        data[:4] == b"PK\x03\x04" or (extensions(filename)[-1:] == ["zip"] and data[:2] == b"PK")
    )


def zip_findings(
    filename: str, data: bytes, limits: ZipLimits = ZipLimits(), depth: int = 1
) -> list[AttachmentFinding]:
    """Look at a zip's member names and sizes (central directory only)."""
    if len(data) > limits.max_archive_bytes:
        return [AttachmentFinding("zip_bomb", filename)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return [AttachmentFinding("zip_unreadable", filename)]
    if len(members) > limits.max_members:
        return [AttachmentFinding("zip_bomb", filename)]
    found: list[AttachmentFinding] = []
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.max_ratio or total > limits.max_total_uncompressed:
            return [*found, AttachmentFinding("zip_bomb", f"{filename}/{member.filename}")]
        if member.flag_bits & 0x1:
            found.append(AttachmentFinding("zip_encrypted", f"{filename}/{member.filename}"))
        found.extend(name_findings(member.filename, inside=filename))
        if extensions(member.filename)[-1:] == ["zip"] and not member.flag_bits & 0x1:
            found.extend(_nested(archive, member, filename, limits, depth))
    return found


def _nested(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, outer: str, limits: ZipLimits, depth: int
) -> list[AttachmentFinding]:
    shown = f"{outer}/{member.filename}"
    if depth >= limits.max_depth:
        return [AttachmentFinding("zip_bomb", shown)]
    if member.file_size > limits.max_archive_bytes:
        return [AttachmentFinding("zip_bomb", shown)]
    try:
        inner = archive.read(member)  # bounded: ratio and size were checked above
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return [AttachmentFinding("zip_unreadable", shown)]
    return zip_findings(shown, inner, limits, depth + 1)


def attachment_findings(
    attachments: Iterable[tuple[str, bytes | None]], limits: ZipLimits = ZipLimits()
) -> list[AttachmentFinding]:
    """Every finding over (filename, decoded bytes) pairs."""
    found: list[AttachmentFinding] = []
    for filename, data in attachments:
        found.extend(name_findings(filename))
        if data is not None and is_zip(filename, data):
            found.extend(zip_findings(filename, data, limits))
    return found
