"""Golden tests over the hand-written corpus in tests/corpus/mime: BODYSTRUCTURE, BODY,
ENVELOPE, chosen BODY[section] / BINARY results and the store summary of every .eml.

Expectations are rewritten only with TIDINGS_UPDATE_GOLDEN=1; review the diff by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tidings.mime.imap_views import (
    UnknownCTE,
    binary_bytes,
    binary_size,
    body,
    body_structure,
    envelope,
    section_bytes,
)
from tidings.mime.index import parse_headers_for_store
from tidings.mime.structure import parse_message, walk

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "mime"
MESSAGES = sorted(CORPUS.glob("*.eml"))
UPDATE = os.environ.get("TIDINGS_UPDATE_GOLDEN") == "1"
MAX_PARTS = 12
MAX_INLINE = 400

JSON = str | int | float | bool | None | list["JSON"] | dict[str, "JSON"]


def _bytes_value(data: bytes | UnknownCTE | int | None) -> JSON:
    """Short UTF-8 results inline; long or binary ones as length plus SHA-256."""
    if data is None or isinstance(data, int):
        return data
    if isinstance(data, UnknownCTE):
        return {"unknown_cte": data.encoding}
    if len(data) <= MAX_INLINE:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _jsonable(value: object) -> JSON:
    return json.loads(json.dumps(value))  # type: ignore[no-any-return]


def _default_specs(raw: bytes) -> tuple[list[str], list[str]]:
    root = parse_message(raw)
    sections = ["HEADER", "TEXT", "HEADER.FIELDS (Subject From)"]
    binaries = []
    for number, part in list(walk(root))[:MAX_PARTS]:
        sections += [number, f"{number}.MIME"]
        if part.message is not None:
            sections += [f"{number}.HEADER", f"{number}.TEXT"]
        elif not part.children:
            binaries.append(number)
    return sections, binaries


def _observe(raw: bytes, sections: list[str], binaries: list[str]) -> dict[str, JSON]:
    root = parse_message(raw)
    summary = parse_headers_for_store(raw, max_text_chars=300)
    return {
        "bodystructure": _jsonable(body_structure(root).as_tuple()),
        "body": _jsonable(body(root).as_tuple()),
        "envelope": _jsonable(envelope(root.headers).as_tuple()),
        "sections": {spec: _bytes_value(section_bytes(raw, spec, root)) for spec in sections},
        "binary": {spec: _bytes_value(binary_bytes(raw, spec, root)) for spec in binaries},
        "binary_size": {spec: _bytes_value(binary_size(raw, spec, root)) for spec in binaries},
        "summary": {
            "date": summary.date.isoformat() if summary.date else None,
            "subject": summary.subject,
            "base_subject": summary.base_subject,
            "from": summary.from_,
            "to": summary.to,
            "text": summary.text,
        },
    }


def test_the_corpus_has_at_least_thirty_messages() -> None:
    assert len(MESSAGES) >= 30


@pytest.mark.parametrize("path", MESSAGES, ids=[p.stem for p in MESSAGES])
def test_corpus_message_matches_its_golden_file(path: Path) -> None:
    raw = path.read_bytes()
    golden_path = path.with_suffix(".json")
    if golden_path.exists():
        golden = json.loads(golden_path.read_text("utf-8"))
        sections, binaries = list(golden["sections"]), list(golden["binary"])
    else:
        golden = None
        sections, binaries = _default_specs(raw)
    observed = _observe(raw, sections, binaries)
    if UPDATE:
        text = json.dumps(observed, indent=1, ensure_ascii=False, sort_keys=False)
        golden_path.write_text(text + "\n", "utf-8")
        return
    assert golden is not None, f"no golden file; run with TIDINGS_UPDATE_GOLDEN=1 for {path.name}"
    assert observed == golden
