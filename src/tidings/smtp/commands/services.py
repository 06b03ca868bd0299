"""What the SMTP command layer needs from the rest of Tidings, built once per listener."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidings.delivery.inbound import InboundDelivery
from tidings.delivery.limits import SenderRateLimit
from tidings.delivery.recipients import RecipientResolver
from tidings.delivery.stages import EnvelopeStage
from tidings.smtp.events import ListenerKind
from tidings.store.services import DirectoryService

if TYPE_CHECKING:
    from tidings.directory.auth import Authenticator


@dataclass(frozen=True, slots=True)
class SMTPServices:
    kind: ListenerKind
    hostname: str
    directory: DirectoryService
    resolver: RecipientResolver
    inbound: InboundDelivery
    authenticator: Authenticator | None = None
    # Where a bare RCPT TO:<postmaster> goes (RFC 5321 §4.1.1.3); None: the hostname.
    postmaster_domain: str | None = None
    # Who gets <postmaster> mail when the domain has no postmaster of its own (§4.5.1).
    postmaster: str | None = None
    # Messages per sender (the user on submission, the envelope sender on the MX) per hour.
    sender_rate: SenderRateLimit | None = None
    # RCPT-time checks on the MX (DNSBL, greylisting, rate limits: tidings.hygiene).
    envelope_stages: tuple[EnvelopeStage, ...] = ()

    def rate_key(self, principal_name: str | None, sender: str) -> str | None:
        """Whom a message counts against; None when it is not counted (bounces)."""
        if principal_name is not None:
            return principal_name
        return sender or None
