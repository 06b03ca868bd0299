"""Tokens for the Bayesian classifier: words of the decoded text and the subject,
sender and mailer headers, URL hosts, attachment types. Each distinct token counts
once per message (Graham's "A Plan for Spam" and SpamBayes do the same)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tidings.hygiene.spam.facts import MessageFacts

MAX_TOKENS = 3000
MIN_WORD = 3
MAX_WORD = 24

_WORD = re.compile(r"[^\W_][\w'$€£%-]*[^\W_]|[^\W_]", re.UNICODE)
# Headers whose words say something about the sender's software or intent.
_HEADER_WORDS = ("subject", "x-mailer", "user-agent", "content-type")


def _words(text: str) -> list[str]:
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if len(word) < MIN_WORD:
            continue
        if len(word) > MAX_WORD:
            # A long run is usually an encoded blob; remember only its shape.
            out.append(f"skip:{word[0]}:{len(word) // 10 * 10}")
            continue
        out.append(word)
    return out


def _url_tokens(url: str) -> list[str]:
    try:
        host = (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()
    except ValueError:
        return ["url:malformed"]
    if not host:
        return []
    labels = host.split(".")
    tokens = [f"url:{host}"]
    if len(labels) >= 2:
        tokens.append(f"url:{'.'.join(labels[-2:])}")
    return tokens


def tokenize(facts: MessageFacts) -> set[str]:
    """The distinct tokens of one message, at most MAX_TOKENS of them."""
    tokens: set[str] = set()
    for name in _HEADER_WORDS:
        for value in facts.headers.get_all(name):
            tokens.update(f"{name}:{word}" for word in _words(value))
    if facts.from_address:
        tokens.add(f"from:{facts.from_address}")
        tokens.add(f"from-domain:{facts.from_domain}")
    if facts.reply_to_address:
        tokens.add(f"reply-to-domain:{facts.reply_to_domain}")
    for url in facts.urls:
        tokens.update(_url_tokens(url))
    for attachment in facts.attachments:
        ext = attachment.filename.rpartition(".")[2].lower()
        tokens.add(f"attachment:{attachment.content_type}")
        if ext and ext != attachment.filename.lower():
            tokens.add(f"attachment-ext:{ext}")
    tokens.update(_words(facts.subject))
    for word in _words(facts.plain_text + "\n" + facts.html_text):
        if len(tokens) >= MAX_TOKENS:
            break
        tokens.add(word)
    return tokens
