"""The weighted rules: each fires on what it describes and not on a clean message."""

from __future__ import annotations

import pytest

from tidings.hygiene.context import AuthStatus, MessageContext
from tidings.hygiene.spam.facts import analyse
from tidings.hygiene.spam.rules import (
    DEFAULT_RULES,
    bayes_rule,
    fired_rules,
    weigh,
    weights_of,
)
from tidings.hygiene.spam.scorer import total

from .messages import GTUBE, plain, with_attachment, zip_of


def names(raw: bytes, context: MessageContext | None = None) -> set[str]:
    fired, _ = fired_rules(analyse(raw), context)
    return {name for name, _ in fired}


def test_a_clean_message_fires_no_rule() -> None:
    assert names(plain()) == set()


def test_gtube_fires_and_outweighs_every_threshold() -> None:
    raw = plain(body=f"test\r\n{GTUBE}\r\n")
    fired, _ = fired_rules(analyse(raw), None)
    assert total(weigh(fired, weights_of())) >= 1000


@pytest.mark.parametrize(("raw", "rule"), [
    (plain(date=None), "MISSING_DATE"),
    (plain(date="yesterday-ish"), "INVALID_DATE"),
    (plain(message_id=None), "MISSING_MESSAGE_ID"),
    (plain(message_id="no-angle-brackets"), "INVALID_MESSAGE_ID"),
    (plain(extra="Reply-To: collect@elsewhere.example\r\n"), "FROM_REPLYTO_MISMATCH"),
    (plain(subject="YOU HAVE WON A PRIZE TODAY"), "SUBJECT_ALL_CAPS"),
    (plain(body="click http://192.0.2.7/login now\r\n"), "URL_IP_LITERAL"),
    (plain(body="see https://bit.ly/abc\r\n"), "URL_SHORTENER"),
    (plain(body="".join(f"http://x{i}.example/ " for i in range(12))), "MANY_URLS"),
    (plain(extra="Content-Type: text/html\r\n", body="<p>hi</p>"), "HTML_ONLY"),
])
def test_each_header_and_body_rule_fires_on_its_case(raw: bytes, rule: str) -> None:
    assert rule in names(raw)


def test_html_with_little_visible_text_fires_the_ratio_rule() -> None:
    markup = "<div style='x'>" * 400 + "Buy" + "</div>" * 400
    raw = plain(extra="Content-Type: text/html\r\n", body=markup)
    assert "HTML_LITTLE_TEXT" in names(raw)


def test_a_same_domain_reply_to_does_not_fire() -> None:
    assert "FROM_REPLYTO_MISMATCH" not in names(
        plain(extra="Reply-To: team@example.test\r\n"))


def test_authentication_failures_from_the_context_fire() -> None:
    context = MessageContext(spf=AuthStatus.FAIL, dkim=AuthStatus.FAIL, dmarc=AuthStatus.FAIL,
                             dnsbl_listed=("bl.example",))
    assert {"SPF_FAIL", "DKIM_FAIL", "DMARC_FAIL", "DNSBL_LISTED"} <= names(plain(), context)
    passing = MessageContext(spf=AuthStatus.PASS, dkim=AuthStatus.PASS, dmarc=AuthStatus.PASS)
    assert names(plain(), passing) == set()


@pytest.mark.parametrize(("filename", "rule"), [
    ("setup.exe", "ATTACHMENT_EXECUTABLE"),
    ("invoice.pdf.exe", "ATTACHMENT_DOUBLE_EXT"),
    ("photos.iso", "ATTACHMENT_DISK_IMAGE"),
    ("run.js", "ATTACHMENT_EXECUTABLE"),
])
def test_suspicious_attachment_names_fire(filename: str, rule: str) -> None:
    assert rule in names(with_attachment(filename, b"MZ\x90\x00payload"))


def test_an_executable_inside_a_zip_fires() -> None:
    archive = zip_of({"readme.txt": b"hello", "docs/invoice.scr": b"MZ..."})
    assert "ZIP_EXECUTABLE" in names(with_attachment("docs.zip", archive))


def test_a_harmless_zip_fires_nothing() -> None:
    archive = zip_of({"readme.txt": b"hello", "photo.jpg": b"\xff\xd8"})
    assert names(with_attachment("docs.zip", archive)) == set()


def test_a_zero_weight_disables_a_rule_and_overrides_change_scores() -> None:
    fired = [("HTML_ONLY", ""), ("MISSING_DATE", "")]
    assert [h.name for h in weigh(fired, weights_of({"HTML_ONLY": 0.0}))] == ["MISSING_DATE"]
    assert total(weigh(fired, weights_of({"MISSING_DATE": 4.0}))) == 4.0 + DEFAULT_RULES[
        "HTML_ONLY"][0]


@pytest.mark.parametrize(("p", "band"), [
    (0.01, "BAYES_00"), (0.1, "BAYES_20"), (0.5, None), (0.85, "BAYES_80"),
    (0.96, "BAYES_95"), (0.995, "BAYES_99"),
])
def test_bayes_probabilities_fall_in_bands(p: float, band: str | None) -> None:
    assert bayes_rule(p) == band
