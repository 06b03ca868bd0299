"""Text extraction for search/DLP, RFC 5256 base subject, builders and the store summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tidings.mime.build import ensure_message_id_and_date, fold, prepend_header
from tidings.mime.index import parse_headers_for_store
from tidings.mime.structure import parse_message
from tidings.mime.subject import base_subject
from tidings.mime.text import attachment_names, extract_text, html_to_text


@pytest.mark.parametrize(
    ("subject", "base"),
    [
        ("Re: hello", "hello"),
        ("RE: Re: re: hello", "hello"),
        ("Fwd: FW: fw: hello", "hello"),
        ("Re [list]: hello", "hello"),
        ("[list] Re: [other] hello", "hello"),
        ("hello (fwd)", "hello"),
        ("hello (fwd) (FWD)  ", "hello"),
        ("[fwd: Re: hello]", "hello"),
        ("[PATCH]", "[PATCH]"),  # a blob that would leave nothing stays
        ("  many \t  spaces  ", "many spaces"),
        ("=?utf-8?q?Re=3A_caf=C3=A9?=", "café"),
        ("Rebooting the server", "Rebooting the server"),
        ("Re:", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_base_subject_follows_rfc_5256(subject: str | None, base: str) -> None:
    assert base_subject(subject) == base


def test_base_subject_of_a_hostile_subject_is_fast() -> None:
    assert base_subject("[x]" * 50_000 + "Re:" * 50_000) is not None


def test_html_text_drops_scripts_styles_and_tags_and_unescapes_entities() -> None:
    html = "<style>p{}</style><script>x=1</script><p>Caf&eacute;&nbsp;&amp;&#233;</p><div>two</div>"
    assert html_to_text(html) == "Café &é\ntwo"


def test_extracted_text_holds_decoded_bodies_names_and_is_capped() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
        b" filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n%PDF\r\n--b--\r\n"
    )
    text = extract_text(raw)
    assert "café" in text and "résumé.pdf" in text and "%PDF" not in text
    assert len(extract_text(raw, max_chars=3)) == 3
    assert attachment_names(parse_message(raw)) == ["résumé.pdf"]


def test_fold_wraps_long_values_and_encodes_non_ascii() -> None:
    folded = fold("Received", "from a.example " * 12)
    assert all(len(line) <= 78 for line in folded.split(b"\r\n"))
    assert folded.startswith(b"Received: from a.example") and folded.endswith(b"\r\n")
    assert fold("Subject", "Grüße") == b"Subject: =?utf-8?B?R3LDvMOfZQ==?=\r\n"


def test_prepend_header_keeps_the_original_bytes_and_line_ending_style() -> None:
    original = b"Subject: x\nFrom: a@b\n\nbody\n"
    result = prepend_header(original, "Authentication-Results", "mx.example; spf=pass")
    assert result == b"Authentication-Results: mx.example; spf=pass\n" + original


def test_missing_message_id_and_date_are_added_once() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    raw = b"Subject: x\r\n\r\nbody"
    added = ensure_message_id_and_date(raw, "example.org", now)
    headers = parse_message(added).headers
    assert headers.get("date") == "Sat, 01 Mar 2025 12:00:00 +0000"
    assert (headers.get("message-id") or "").endswith("@example.org>")
    assert added.endswith(raw)
    assert ensure_message_id_and_date(added, "example.org", now) == added


def test_store_summary_decodes_headers_and_computes_the_base_subject() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\nTo: a@x.test\r\nCc: b@x.test\r\n"
        b"Subject: Re: =?iso-8859-1?q?caf=E9?=\r\nDate: Sat, 1 Mar 2025 12:00:00 +0000\r\n"
        b"Message-ID: <m1@x.test>\r\nReferences: <r1@x.test>\r\n <r2@x.test>\r\n\r\nhello\r\n"
    )
    summary = parse_headers_for_store(raw)
    assert summary.from_ == "Jörg <j@x.test>"
    assert (summary.subject, summary.base_subject) == ("Re: café", "café")
    assert summary.date == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert (summary.message_id, summary.references) == ("<m1@x.test>", "<r1@x.test> <r2@x.test>")
    assert (summary.sender, summary.bcc, summary.in_reply_to) == ("", "", "")
    assert summary.text == "hello\r\n"



def test_the_summary_is_the_type_the_store_indexes() -> None:
    from tidings.mime.index import parse_headers_for_store
    from tidings.store.services import ParsedHeaders

    summary = parse_headers_for_store(b"Subject: Re: hi\r\nFrom: a@example.test\r\n\r\nbody\r\n")
    assert isinstance(summary, ParsedHeaders)
    assert (summary.subject, summary.base_subject, summary.from_) == (
        "Re: hi", "hi", "a@example.test"
    )
