"""The weighted spam rules. Each check says whether its rule fired and why; the weight
of every rule is data (defaults here, overridden by `[spam.rules]` in the config and by
rows in the store; a weight of 0 disables a rule) — ARCHITECTURE.md rule 6."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tidings.hygiene.attachments import AttachmentFinding, ZipLimits, attachment_findings
from tidings.hygiene.context import AuthStatus, MessageContext
from tidings.hygiene.spam.facts import MessageFacts
from tidings.mime.dates import parse_date

GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

# name -> (default weight, what it means); reports and the API show the text.
DEFAULT_RULES: Mapping[str, tuple[float, str]] = {
    "GTUBE": (1000.0, "the GTUBE anti-spam test string"),
    "MISSING_DATE": (1.0, "no Date header"),
    "INVALID_DATE": (1.0, "the Date header cannot be parsed (RFC 5322 §3.3)"),
    "MISSING_MESSAGE_ID": (1.0, "no Message-ID header"),
    "INVALID_MESSAGE_ID": (0.5, "the Message-ID is not <left@right> (RFC 5322 §3.6.4)"),
    "FROM_REPLYTO_MISMATCH": (1.0, "Reply-To is in another domain than From"),
    "MISSING_FROM": (1.5, "no usable From address"),
    "SPF_FAIL": (2.0, "SPF says the sending host is not allowed"),
    "SPF_SOFTFAIL": (1.0, "SPF softfail"),
    "DKIM_FAIL": (1.5, "a DKIM signature did not verify"),
    "DMARC_FAIL": (3.0, "DMARC alignment failed"),
    "DNSBL_LISTED": (3.0, "the sending IP is on a DNS blocklist"),
    "DNSWL_LISTED": (-1.0, "the sending IP is on a DNS allowlist"),
    "MANY_URLS": (1.0, "many links"),
    "URL_IP_LITERAL": (2.0, "a link points at a bare IP address"),
    "URL_SHORTENER": (1.0, "a link goes through a URL shortener"),
    "HTML_ONLY": (1.0, "HTML without a plain-text alternative"),
    "HTML_LITTLE_TEXT": (1.0, "much HTML markup around little visible text"),
    "SUBJECT_ALL_CAPS": (1.5, "the subject is written in capitals"),
    "ATTACHMENT_EXECUTABLE": (5.0, "an executable or script attachment"),
    "ATTACHMENT_DOUBLE_EXT": (4.0, "an attachment with a double extension (x.pdf.exe)"),
    "ATTACHMENT_DISK_IMAGE": (3.0, "a disk image attachment (.iso, .img)"),
    "ZIP_EXECUTABLE": (5.0, "an executable inside a zip attachment"),
    "ZIP_BOMB": (5.0, "a zip attachment over the size, ratio or nesting limits"),
    "ZIP_ENCRYPTED": (1.5, "an encrypted zip attachment"),
    "BAYES_00": (-1.5, "the Bayesian classifier says ham (p < 0.05)"),
    "BAYES_20": (-0.5, "the Bayesian classifier leans ham (p < 0.2)"),
    "BAYES_80": (2.0, "the Bayesian classifier leans spam (p >= 0.8)"),
    "BAYES_95": (3.0, "the Bayesian classifier says spam (p >= 0.95)"),
    "BAYES_99": (4.5, "the Bayesian classifier is sure it is spam (p >= 0.99)"),
}

URL_SHORTENERS = frozenset({
    "bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "buff.ly", "rebrand.ly",
    "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "s.id",
})
_MSGID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>\Z")
_FINDING_RULES = {
    "executable": "ATTACHMENT_EXECUTABLE",
    "double_extension": "ATTACHMENT_DOUBLE_EXT",
    "disk_image": "ATTACHMENT_DISK_IMAGE",
    "zip_executable": "ZIP_EXECUTABLE",
    "zip_bomb": "ZIP_BOMB",
    "zip_encrypted": "ZIP_ENCRYPTED",
}


@dataclass(frozen=True, slots=True)
class RuleLimits:
    many_urls: int = 10
    caps_min_letters: int = 8
    html_min_chars: int = 2000  # below this, markup/text ratio is not judged
    html_text_ratio: float = 0.05  # visible text / markup below this fires
    zip: ZipLimits = field(default_factory=ZipLimits)


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired: its name, the score it adds and what it saw."""

    name: str
    score: float
    detail: str = ""


Fired = list[tuple[str, str]]  # (rule name, detail)


def weights_of(overrides: Mapping[str, float] = {}) -> dict[str, float]:
    """Default weights with overrides applied (unknown names are ignored by checks)."""
    weights = {name: weight for name, (weight, _) in DEFAULT_RULES.items()}
    weights.update(overrides)
    return weights


def _headers(facts: MessageFacts, limits: RuleLimits) -> Fired:
    fired: Fired = []
    date = facts.headers.get("date")
    if date is None:
        fired.append(("MISSING_DATE", ""))
    elif parse_date(date) is None:
        fired.append(("INVALID_DATE", date[:60]))
    message_id = facts.headers.get("message-id")
    if message_id is None:
        fired.append(("MISSING_MESSAGE_ID", ""))
    elif not _MSGID.match(message_id.strip()):
        fired.append(("INVALID_MESSAGE_ID", message_id[:60]))
    if not facts.from_address:
        fired.append(("MISSING_FROM", ""))
    elif facts.reply_to_address and facts.reply_to_domain != facts.from_domain:
        fired.append(("FROM_REPLYTO_MISMATCH", f"{facts.from_domain} vs {facts.reply_to_domain}"))
    letters = [c for c in facts.subject if c.isalpha()]
    if len(letters) >= limits.caps_min_letters and all(c.isupper() for c in letters):
        fired.append(("SUBJECT_ALL_CAPS", ""))
    return fired


def _authentication(context: MessageContext | None) -> Fired:
    if context is None:
        return []
    fired: Fired = []
    if context.spf is AuthStatus.FAIL:
        fired.append(("SPF_FAIL", context.spf_domain))
    elif context.spf is AuthStatus.SOFTFAIL:
        fired.append(("SPF_SOFTFAIL", context.spf_domain))
    if context.dkim in (AuthStatus.FAIL, AuthStatus.PERMERROR):
        fired.append(("DKIM_FAIL", ""))
    if context.dmarc is AuthStatus.FAIL:
        fired.append(("DMARC_FAIL", context.dmarc_policy))
    if context.dnsbl_listed:
        fired.append(("DNSBL_LISTED", ",".join(context.dnsbl_listed)))
    if context.dnswl_listed:
        fired.append(("DNSWL_LISTED", ",".join(context.dnswl_listed)))
    return fired


def _url_host(url: str) -> str:
    try:
        return (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()
    except ValueError:
        return ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _urls(facts: MessageFacts, limits: RuleLimits) -> Fired:
    fired: Fired = []
    if len(facts.urls) > limits.many_urls:
        fired.append(("MANY_URLS", str(len(facts.urls))))
    hosts = {_url_host(url) for url in facts.urls}
    literal = sorted(h for h in hosts if _is_ip(h))
    if literal:
        fired.append(("URL_IP_LITERAL", literal[0]))
    short = sorted(h for h in hosts if h in URL_SHORTENERS)
    if short:
        fired.append(("URL_SHORTENER", short[0]))
    return fired


def _html(facts: MessageFacts, limits: RuleLimits) -> Fired:
    fired: Fired = []
    if facts.has_html and not facts.has_plain:
        fired.append(("HTML_ONLY", ""))
    if facts.html_chars >= limits.html_min_chars:
        visible = len(facts.html_text.strip())
        if visible / facts.html_chars < limits.html_text_ratio:
            fired.append(("HTML_LITTLE_TEXT", f"{visible}/{facts.html_chars}"))
    return fired


def _attachments(findings: list[AttachmentFinding]) -> Fired:
    fired: Fired = []
    seen: set[str] = set()
    for finding in findings:
        rule = _FINDING_RULES.get(finding.kind)
        if rule is not None and rule not in seen:
            seen.add(rule)
            fired.append((rule, finding.filename))
    return fired


def fired_rules(
    facts: MessageFacts, context: MessageContext | None, limits: RuleLimits = RuleLimits()
) -> tuple[Fired, list[AttachmentFinding]]:
    """Every rule that fires on the message (before weights), and attachment findings."""
    findings = attachment_findings(((a.filename, a.data) for a in facts.attachments), limits.zip)
    fired: Fired = []
    if GTUBE in facts.body:
        fired.append(("GTUBE", ""))
    checks: tuple[Callable[[MessageFacts, RuleLimits], Fired], ...] = (_headers, _urls, _html)
    for check in checks:
        fired.extend(check(facts, limits))
    fired.extend(_authentication(context))
    fired.extend(_attachments(findings))
    return fired, findings


def weigh(fired: Fired, weights: Mapping[str, float]) -> list[Hit]:
    """Apply weights; rules weighted 0 (disabled) are left out."""
    hits = []
    for name, detail in fired:
        weight = weights.get(name, 0.0)
        if weight != 0.0:
            hits.append(Hit(name, weight, detail))
    return hits


def bayes_rule(probability: float) -> str | None:
    """The BAYES_* band of a classifier probability; None in the undecided middle."""
    if probability < 0.05:
        return "BAYES_00"
    if probability < 0.2:
        return "BAYES_20"
    if probability >= 0.99:
        return "BAYES_99"
    if probability >= 0.95:
        return "BAYES_95"
    if probability >= 0.8:
        return "BAYES_80"
    return None
