from __future__ import annotations

from tidings.delivery.outbound.client import (
    OutboundEnvelope,
    OutboundRecipient,
    needs_smtputf8,
    xtext,
)
from tidings.delivery.outbound.resolver import group_by_domain


def test_xtext_escapes_plus_equals_and_non_printables() -> None:
    assert xtext("abc") == "abc"
    assert xtext("a+b=c d") == "a+2Bb+3Dc+20d"
    assert xtext("é") == "+C3+A9"


def _envelope(sender: str, rcpt: str, content: bytes) -> OutboundEnvelope:
    return OutboundEnvelope(sender, (OutboundRecipient(rcpt),), content)


def test_smtputf8_is_needed_for_non_ascii_addresses_or_header() -> None:
    plain = b"Subject: hi\r\n\r\nbody\r\n"
    assert not needs_smtputf8(_envelope("a@b.test", "c@d.test", plain))
    assert needs_smtputf8(_envelope("jörg@b.test", "c@d.test", plain))
    assert needs_smtputf8(_envelope("a@b.test", "c@d.test", "Subject: größe\r\n\r\n".encode()))
    # An 8-bit body alone needs 8BITMIME, not SMTPUTF8.
    assert not needs_smtputf8(_envelope("a@b.test", "c@d.test", "S: x\r\n\r\nö\r\n".encode()))


def test_recipients_are_grouped_by_lower_case_domain() -> None:
    groups = group_by_domain(["a@X.test", "b@y.test", "c@x.TEST"])
    assert groups == {"x.test": ["a@X.test", "c@x.TEST"], "y.test": ["b@y.test"]}
