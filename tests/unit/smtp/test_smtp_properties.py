"""Property tests of the SMTP session: chunking invariance, any bytes give replies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.smtp.driver import make_driver
from tidings.smtp.address import AddressError, parse_mailbox
from tidings.smtp.data import BareLineEndings
from tidings.smtp.events import ListenerKind
from tidings.smtp.parser import Command, Malformed, Rcpt, parse_command
from tidings.smtp.responses import Reply

# Command pieces a client might send (no STARTTLS: its discard depends on timing).
PIECES = [
    b"EHLO c.example\r\n", b"HELO c\r\n", b"MAIL FROM:<a@b.example>\r\n",
    b"MAIL FROM:<> BODY=BINARYMIME\r\n", b"RCPT TO:<bob@example.test>\r\n",
    b"RCPT TO:<unknown@example.test>\r\n", b"DATA\r\n", b"line\r\n", b".\r\n", b"..x\r\n",
    b"BDAT 5\r\n", b"BDAT 3 LAST\r\n", b"abcde", b"RSET\r\n", b"NOOP\r\n", b"\n", b"\r",
    b"AUTH PLAIN\r\n", b"AGFsaWNlAHNlY3JldA==\r\n", b"*\r\n", b"QUIT\r\n", b"garbage\r\n",
    b"VRFY x\r\n", b"\x00\xff", b"x" * 300,
]

wires = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)
cut_points = st.lists(st.integers(0, 20000), max_size=10)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return [p for p in pieces if p]


def transcript(chunks: list[bytes], **config: object) -> tuple[list[Reply], list[bytes]]:
    driver = make_driver(**config)
    driver.feed(*chunks)
    return driver.replies, [m.content for m in driver.commands.delivered]


@settings(max_examples=300)
@given(wire=wires, cuts=cut_points)
def test_chunking_never_changes_replies_or_messages(wire: bytes, cuts: list[int]) -> None:
    assert transcript(split_at(wire, cuts)) == transcript([wire])


@settings(max_examples=150)
@given(wire=wires, cuts=cut_points)
def test_chunking_invariance_on_submission_with_normalising(wire: bytes, cuts: list[int]) -> None:
    config: dict[str, object] = {
        "kind": ListenerKind.SUBMISSION, "tls": True,
        "bare_line_endings": BareLineEndings.NORMALIZE,
    }
    assert transcript(split_at(wire, cuts), **config) == transcript([wire], **config)


@settings(max_examples=300)
@given(data=st.binary(max_size=4096), cuts=cut_points)
def test_any_bytes_give_replies_never_exceptions(data: bytes, cuts: list[int]) -> None:
    driver = make_driver(kind=ListenerKind.SUBMISSION, tls=True)
    driver.feed(*split_at(data, cuts))
    driver.close()
    assert all(isinstance(reply, Reply) and 200 <= reply.code < 600 for reply in driver.replies)
    for reply in driver.replies:
        wire = reply.encode()
        assert wire.endswith(b"\r\n") and wire.count(b"\r\n") == len(reply.lines)
    assert driver.session.closed


@settings(max_examples=300)
@given(line=st.binary(max_size=600))
def test_parse_command_never_raises(line: bytes) -> None:
    result = parse_command(line)
    assert isinstance(result, Malformed | Command)  # typed result, never an exception


@settings(max_examples=300)
@given(text=st.text(max_size=300))
def test_parse_mailbox_raises_only_address_error(text: str) -> None:
    try:
        address = parse_mailbox(text, allow_bare_postmaster=True)
    except AddressError:
        return
    assert str(address)


@given(local=st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,20}[a-z0-9]", fullmatch=True),
       domain=st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.[a-z]{2,6}", fullmatch=True))
def test_rcpt_round_trips_plain_addresses(local: str, domain: str) -> None:
    if ".." in local:
        return
    result = parse_command(f"RCPT TO:<{local}@{domain}>".encode())
    assert isinstance(result, Rcpt)
    assert str(result.recipient) == f"{local}@{domain}"
