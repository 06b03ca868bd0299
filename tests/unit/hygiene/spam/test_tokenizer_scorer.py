"""Tokens, thresholds, sender lists and the explanation headers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.hygiene.spam.facts import _URL, analyse, find_urls
from tidings.hygiene.spam.rules import Hit
from tidings.hygiene.spam.scorer import (
    Action,
    Decision,
    ListKind,
    Thresholds,
    account_action,
    combine_actions,
    list_verdict,
    matches_sender,
    rejection_text,
    spam_headers,
)
from tidings.hygiene.spam.tokenizer import tokenize

from .messages import plain


def test_tokens_cover_subject_sender_words_and_url_hosts() -> None:
    raw = plain(subject="Cheap watches", body="Visit https://shop.example.com/buy today\r\n")
    tokens = tokenize(analyse(raw))
    assert {"subject:cheap", "cheap", "from:carol@example.test",
            "from-domain:example.test", "url:shop.example.com", "url:example.com",
            "today"} <= tokens


def test_long_runs_become_shape_tokens() -> None:
    tokens = tokenize(analyse(plain(body="a" * 60 + "\r\n")))
    assert "skip:a:60" in tokens


def test_thresholds_pick_the_band() -> None:
    t = Thresholds(junk=5, quarantine=10, reject=15)
    assert [t.action_for(s) for s in (0, 5, 10, 15)] == [
        Action.DELIVER, Action.JUNK, Action.QUARANTINE, Action.REJECT]
    assert Thresholds(junk=5, quarantine=None, reject=None).action_for(100) is Action.JUNK


def test_sender_patterns_match_addresses_and_domains() -> None:
    assert matches_sender("carol@example.test", "Carol@Example.TEST")
    assert matches_sender("example.test", "x@mail.example.test")
    assert matches_sender("@example.test", "x@example.test")
    assert not matches_sender("example.test", "x@badexample.test")
    assert not matches_sender("carol@example.test", "bob@example.test")


def test_a_blocked_entry_wins_over_a_safe_one() -> None:
    entries = [("example.test", ListKind.SAFE), ("carol@example.test", ListKind.BLOCKED)]
    assert list_verdict(entries, ["carol@example.test"]) is ListKind.BLOCKED
    assert list_verdict(entries, ["dave@example.test"]) is ListKind.SAFE
    assert list_verdict(entries, ["x@other.test"]) is None


def test_safe_senders_deliver_and_blocked_senders_get_the_blocked_action() -> None:
    t = Thresholds()
    assert account_action(1000, t, ListKind.SAFE, Action.REJECT) == (Action.DELIVER,
                                                                      "safe sender")
    assert account_action(0, t, ListKind.BLOCKED, Action.JUNK) == (Action.JUNK,
                                                                    "blocked sender")


def test_the_least_severe_recipient_wish_wins() -> None:
    assert combine_actions([(Action.REJECT, "score"), (Action.DELIVER, "safe sender")]) == (
        Action.DELIVER, "safe sender")


def test_headers_explain_the_score_and_every_rule() -> None:
    decision = Decision(7.5, (Hit("HTML_ONLY", 1.0), Hit("BAYES_99", 6.5)), Action.JUNK,
                        "score")
    fields = dict(spam_headers(decision, Thresholds()))
    assert fields["X-Tidings-Spam-Flag"] == "YES"
    assert fields["X-Tidings-Spam-Score"] == "7.5"
    report = fields["X-Tidings-Spam-Report"]
    assert "action=junk" in report and "HTML_ONLY=+1" in report and "BAYES_99=+6.5" in report
    assert "junk=5" in report and "reject=15" in report


def test_the_rejection_names_score_limit_and_rules() -> None:
    decision = Decision(1000, (Hit("GTUBE", 1000),), Action.REJECT, "score")
    text = rejection_text(decision, Thresholds())
    assert "1000" in text and ">= 15" in text and "GTUBE" in text


@given(st.lists(st.sampled_from(["http://a.b", "HTTPS://X.y/z", "www.", "wWw.q.r", "xhttp://n",
                                 "http", " ", "\n", "(", "a", "é", "İ", "_www.s", "://", "."]),
                max_size=30).map("".join))
def test_find_urls_finds_what_the_regex_finds(text: str) -> None:
    assert find_urls(text) == _URL.findall(text)
