"""The part tree: multipart splitting rules (RFC 2046 §5.1), defaults and limits."""

from __future__ import annotations

import time

from tidings.mime.structure import MAX_DEPTH, MAX_PARTS, parse_message, split_multipart, walk


def test_line_ending_before_a_delimiter_belongs_to_the_delimiter() -> None:
    raw = b"--b\r\n\r\nbody\r\n\r\n--b--\r\n"
    ((start, end),) = split_multipart(raw, 0, len(raw), b"--b")
    assert raw[start:end] == b"\r\nbody\r\n"


def test_delimiters_must_start_a_line_and_be_followed_only_by_padding() -> None:
    raw = b"x --b\r\n--bb\r\n--b \t\r\none\r\n--b--junk\r\n--b--\r\n"
    ranges = split_multipart(raw, 0, len(raw), b"--b")
    assert [raw[s:e] for s, e in ranges] == [b"one\r\n--b--junk"]


def test_multipart_digest_parts_default_to_message_rfc822() -> None:
    raw = (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: s\r\n\r\nx\r\n--d--"
    )
    (child,) = parse_message(raw).children
    assert child.content_type.mime_type == "message/rfc822"
    assert child.message is not None and child.message.headers.get("subject") == "s"


def test_nesting_beyond_the_limit_stops_as_an_opaque_part() -> None:
    depth = MAX_DEPTH + 20
    raw = b"".join(
        b"Content-Type: multipart/mixed; boundary=%d\n\n--%d\n" % (i, i) for i in range(depth)
    )
    raw += b"\nleaf\n" + b"".join(b"--%d--\n" % i for i in reversed(range(depth)))
    part, levels = parse_message(raw), 0
    while part.children:
        part, levels = part.children[0], levels + 1
    assert levels == MAX_DEPTH
    assert part.truncated and part.content_type.mime_type == "application/octet-stream"


def test_nested_message_rfc822_beyond_the_limit_is_truncated_too() -> None:
    raw = b"Content-Type: message/rfc822\r\n\r\n" * (MAX_DEPTH + 5) + b"end"
    part, levels = parse_message(raw), 0
    while part.message is not None:
        part, levels = part.message, levels + 1
    assert levels == MAX_DEPTH and part.truncated


def test_many_parts_parse_in_linear_time_and_stop_at_the_part_limit() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 20000
    started = time.perf_counter()
    root = parse_message(raw)
    assert time.perf_counter() - started < 5
    assert len(root.children) == MAX_PARTS
    assert root.children[-1].end == len(raw)  # the rest is kept, as one last part
    assert raw[root.children[0].body_start : root.children[0].end] == b"x"


def test_walk_numbers_parts_like_imap() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\na\r\n"
        b"--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: s\r\n\r\nb\r\n--o--\r\n"
    )
    assert [number for number, _ in walk(parse_message(raw))] == ["1", "2", "2.1"]
    assert [number for number, _ in walk(parse_message(b"x"))] == ["1"]


def test_part_metadata_comes_from_mime_headers() -> None:
    raw = (
        b"Content-Type: text/plain; name=a.txt\r\nContent-Transfer-Encoding: BASE64 (comment)\r\n"
        b"Content-Language: en-GB (British), cy\r\nContent-Location: http://x.test/\r\n a\r\n"
        b"Content-ID: <id@x>\r\nContent-Description: desc\r\nContent-MD5: abc=\r\n\r\naGk=\r\n"
    )
    part = parse_message(raw)
    assert (part.encoding, part.language, part.location) == (
        "base64",
        ("en-GB", "cy"),
        "http://x.test/a",
    )
    assert (part.content_id, part.description, part.md5, part.filename) == (
        "<id@x>",
        "desc",
        "abc=",
        "a.txt",
    )
    assert (part.size, part.lines) == (6, 1)
