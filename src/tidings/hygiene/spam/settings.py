"""The [spam] and [antivirus] settings; read by tidings.config with its one-line errors.

    [spam]
    enabled = true
    junk_threshold = 5.0         # file into Junk at or above
    quarantine_threshold = 10.0  # hold for an admin at or above (0: no quarantine band)
    reject_threshold = 15.0      # 550 5.7.1 at DATA time at or above (0: never)
    blocked_action = "junk"      # what a recipient's blocked sender gets: junk/quarantine/reject
    [spam.rules]                 # weight overrides; 0 disables a rule
    HTML_ONLY = 0.5

    [antivirus]
    clamd = "unix:/run/clamav/clamd.ctl"   # or "tcp:127.0.0.1:3310"; "" = no scanning
    action = "reject"            # infected: reject (554 5.7.1) or quarantine
    on_error = "accept"          # clamd down: accept (fail open) or tempfail (fail closed)
    blocked_attachments = "reject"   # executables etc.: reject, quarantine or off
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tidings.config_reader import TableReader, show_value

SPAM_ACTIONS = ["junk", "quarantine", "reject"]


@dataclass(frozen=True, slots=True)
class SpamSettings:
    enabled: bool = False
    junk_threshold: float = 5.0
    quarantine_threshold: float | None = None
    reject_threshold: float | None = 15.0
    blocked_action: str = "junk"
    bayes: bool = True
    # The classifier speaks only after learning this many messages of each class.
    bayes_min_spam: int = 5
    bayes_min_ham: int = 5
    learn: bool = True  # train from moves into / out of Junk (the learner task)
    learn_poll_seconds: float = 5.0
    scan_submissions: bool = False  # authenticated submissions are not scored
    rules: Mapping[str, float] = field(default_factory=dict)
    rule_cache_seconds: float = 30.0  # how long store rule weights are cached


@dataclass(frozen=True, slots=True)
class AntivirusSettings:
    clamd: str = ""  # "unix:/path", "/path", "tcp:HOST:PORT" or "HOST:PORT"; "" = off
    action: str = "reject"  # or "quarantine"
    on_error: str = "accept"  # or "tempfail"
    timeout_seconds: float = 30.0
    max_scan_bytes: int = 25 * 1024 * 1024  # clamd's default StreamMaxLength
    chunk_bytes: int = 64 * 1024
    blocked_attachments: str = "off"  # "reject", "quarantine" or "off"

    @property
    def active(self) -> bool:
        return bool(self.clamd) or self.blocked_attachments != "off"


def _optional_threshold(t: TableReader, key: str, default: float | None) -> float | None:
    value = t.number(key, default if default is not None else 0.0, minimum=0.0, maximum=1e6)
    return None if value == 0.0 else value


def _rules(t: TableReader) -> dict[str, float]:
    rules: dict[str, float] = {}
    for name in list(t.raw):
        rules[name] = t.number(name, 0.0, minimum=-1000.0, maximum=1000.0)
    t.finish()
    return rules


def read_spam(t: TableReader) -> SpamSettings:
    """The [spam] table. Raises ConfigError."""
    x = SpamSettings()
    settings = SpamSettings(
        enabled=t.boolean("enabled", x.enabled),
        junk_threshold=t.number("junk_threshold", x.junk_threshold, minimum=-1000.0),
        quarantine_threshold=_optional_threshold(t, "quarantine_threshold",
                                                 x.quarantine_threshold),
        reject_threshold=_optional_threshold(t, "reject_threshold", x.reject_threshold),
        blocked_action=t.choice("blocked_action", x.blocked_action, SPAM_ACTIONS),
        bayes=t.boolean("bayes", x.bayes),
        bayes_min_spam=t.integer("bayes_min_spam", x.bayes_min_spam),
        bayes_min_ham=t.integer("bayes_min_ham", x.bayes_min_ham),
        learn=t.boolean("learn", x.learn),
        learn_poll_seconds=t.number("learn_poll_seconds", x.learn_poll_seconds,
                                    minimum=0.01, maximum=3600.0),
        scan_submissions=t.boolean("scan_submissions", x.scan_submissions),
        rules=_rules(t.table("rules")),
        rule_cache_seconds=t.number("rule_cache_seconds", x.rule_cache_seconds, maximum=3600.0),
    )
    t.finish()
    return settings


def read_antivirus(t: TableReader) -> AntivirusSettings:
    """The [antivirus] table. Raises ConfigError."""
    x = AntivirusSettings()
    clamd = t.string("clamd", x.clamd)
    if clamd and not (clamd.startswith(("unix:", "/", "tcp:")) or ":" in clamd):
        t.fail("clamd", f'expected "unix:/PATH" or "tcp:HOST:PORT", got {show_value(clamd)}')
    settings = AntivirusSettings(
        clamd=clamd,
        action=t.choice("action", x.action, ["reject", "quarantine"]),
        on_error=t.choice("on_error", x.on_error, ["accept", "tempfail"]),
        timeout_seconds=t.number("timeout_seconds", x.timeout_seconds, minimum=0.1,
                                 maximum=600.0),
        max_scan_bytes=t.integer("max_scan_bytes", x.max_scan_bytes, minimum=1024),
        chunk_bytes=t.integer("chunk_bytes", x.chunk_bytes, minimum=512),
        blocked_attachments=t.choice("blocked_attachments", x.blocked_attachments,
                                     ["reject", "quarantine", "off"]),
    )
    t.finish()
    return settings
