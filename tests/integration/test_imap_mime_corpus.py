"""The MIME corpus over IMAP: every message of tests/corpus/mime is appended, then its
BODYSTRUCTURE, BODY, ENVELOPE, BODY[section], BINARY[part] and BINARY.SIZE[part] are
fetched over the wire and checked against the corpus's expectations (RFC 9051 §7.5.2)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.integration.test_imap_support import IMAPEnv, RawClient, ca, start_env
from tidings.imap.wire import Value, encode_value

__all__ = ["ca"]

CORPUS = Path(__file__).parents[1] / "corpus" / "mime"
CASES = sorted(CORPUS.glob("*.eml"))


@pytest.fixture
async def env(tmp_path: Path, ca: trustme.CA) -> AsyncIterator[IMAPEnv]:
    async for value in start_env(tmp_path, ca):
        yield value


def _value(data: Any) -> Value:
    if isinstance(data, list):
        return [_value(item) for item in data]
    return data  # type: ignore[no-any-return]


def _body(data: Any) -> bytes:
    """A golden body structure as RFC 9051 writes it: a multipart's parts (the
    leading lists) follow each other with no space; a message/rfc822 part's
    nested body (field 9) is written by the same rule."""
    if isinstance(data, list) and data and isinstance(data[0], list):
        count = next((i for i, item in enumerate(data) if not isinstance(item, list)), len(data))
        parts = b"".join(_body(part) for part in data[:count])
        rest = b" ".join(encode_value(_value(item)) for item in data[count:])
        return b"(" + parts + b" " + rest + b")"
    if isinstance(data, list) and len(data) > 8 and str(data[0]).upper() == "MESSAGE":
        fields = [encode_value(_value(item)) for item in data]
        fields[8] = _body(data[8])
        return b"(" + b" ".join(fields) + b")"
    return encode_value(_value(data))


def _item(response: bytes, label: bytes) -> bytes | None:
    """The string value of `label` in a FETCH response; None for NIL."""
    start = response.index(label + b" ") + len(label) + 1
    rest = response[start:]
    if rest.startswith(b"NIL"):
        return None
    literal = re.match(rb"~?\{(\d+)\}\r\n", rest)
    if literal:
        return rest[literal.end() : literal.end() + int(literal.group(1))]
    assert rest.startswith(b'"'), rest[:40]
    end = 1
    while rest[end] != 0x22:
        end += 2 if rest[end] == 0x5C else 1
    return rest[1:end].replace(b'\\"', b'"').replace(b"\\\\", b"\\")


def _check_bytes(got: bytes | None, expected: Any) -> bool:
    if expected is None:
        return got in (None, b"")
    if isinstance(expected, dict):
        return got is not None and len(got) == expected["len"] and \
            hashlib.sha256(got).hexdigest() == expected["sha256"]
    data = expected.encode("utf-8", "surrogateescape") if isinstance(expected, str) else expected
    return got == data


async def _check_message(client: RawClient, number: int, spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for item, key in (("BODYSTRUCTURE", "bodystructure"), ("BODY", "body"),
                      ("ENVELOPE", "envelope")):
        if key not in spec:
            continue
        got = b"".join(await client.ok(f"FETCH {number} ({item})"))
        encoded = encode_value(_value(spec[key])) if key == "envelope" else _body(spec[key])
        wanted = f"* {number} FETCH ({item} ".encode() + encoded + b")"
        if wanted not in got:
            problems.append(f"{item}: got {got[:300]!r}")
    for section, expected in spec.get("sections", {}).items():
        got = b"".join(await client.ok(f"FETCH {number} (BODY.PEEK[{section}])"))
        if not _check_bytes(_item(got, f"BODY[{section}]".encode()), expected):
            problems.append(f"BODY[{section}]")
    for part, expected in spec.get("binary", {}).items():
        lines = await client.command(f"FETCH {number} (BINARY.PEEK[{part}])")
        got = b"".join(lines)
        if b"UNKNOWN-CTE" in lines[-1]:
            if not (isinstance(expected, dict) and "unknown_cte" in expected):
                problems.append(f"BINARY[{part}] unknown CTE")
            continue
        if isinstance(expected, dict) and "unknown_cte" in expected:
            problems.append(f"BINARY[{part}] should be UNKNOWN-CTE")
            continue
        if not _check_bytes(_item(got, f"BINARY[{part}]".encode()), expected):
            problems.append(f"BINARY[{part}]")
    for part, expected in spec.get("binary_size", {}).items():
        lines = await client.command(f"FETCH {number} (BINARY.SIZE[{part}])")
        if b"UNKNOWN-CTE" in lines[-1] or (isinstance(expected, dict)
                                            and "unknown_cte" in expected):
            if not (b"UNKNOWN-CTE" in lines[-1] and isinstance(expected, dict)):
                problems.append(f"BINARY.SIZE[{part}] UNKNOWN-CTE mismatch")
            continue
        match = re.search(rb"BINARY\.SIZE\[[\d.]*\] (NIL|\d+)", b"".join(lines))
        value = None if match is None or match.group(1) == b"NIL" else int(match.group(1))
        if value != expected:
            problems.append(f"BINARY.SIZE[{part}] {value} != {expected}")
    return problems


async def test_mime_corpus_over_imap(env: IMAPEnv) -> None:
    assert len(CASES) >= 30
    client = await RawClient.open(env)
    for path in CASES:
        raw = path.read_bytes()
        await client.ok(b"APPEND INBOX {%d+}\r\n" % len(raw) + raw)
    await client.ok("SELECT INBOX")
    problems: dict[str, list[str]] = {}
    for number, path in enumerate(CASES, 1):
        spec = json.loads(path.with_suffix(".json").read_text())
        found = await _check_message(client, number, spec)
        if found:
            problems[path.name] = found
    await client.close()
    assert problems == {}
