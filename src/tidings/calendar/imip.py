"""iMIP (RFC 6047): iTIP messages carried by email. Build the outgoing message
(multipart/alternative: a text part and `text/calendar; method=...`), hand it to the
outbound queue, and find the calendar part of an incoming message."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime
from typing import Protocol

from tidings.calendar.itip import ITIPMessage, Method
from tidings.mime.build import make_message_id
from tidings.model.ids import PrincipalId
from tidings.store.services import BlobStore, QueueService

log = logging.getLogger(__name__)

MAX_CALENDAR_PART_BYTES = 1_000_000
_SUBJECT_PREFIX = {
    Method.REQUEST: "Invitation",
    Method.REPLY: "Reply",
    Method.CANCEL: "Cancelled",
}


class IMIPSender(Protocol):
    """Where outgoing iMIP messages go: the outbound path (queue) in the server."""

    async def send(
        self, sender: str, recipients: Sequence[str], raw: bytes, submitted_by: PrincipalId
    ) -> None: ...


def build_imip(
    message: ITIPMessage, sender: str, recipients: Sequence[str], summary: str, now: datetime
) -> bytes:
    """The RFC 6047 §2.4 message: From the sender, text summary plus the iCalendar
    body as `text/calendar; method=...` (base64 would do; 8-bit text is kept readable)."""
    mail = EmailMessage(policy=email.policy.SMTP)
    domain = sender.rsplit("@", 1)[-1]
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = f"{_SUBJECT_PREFIX[message.method]}: {summary or '(no title)'}"
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_message_id(domain)
    mail.set_content(_text_part(message, sender, summary))
    mail.add_alternative(
        message.text.encode(),
        maintype="text",
        subtype="calendar",
        params={"method": message.method.value, "charset": "utf-8"},
        cte="quoted-printable",
    )
    return mail.as_bytes()


def _text_part(message: ITIPMessage, sender: str, summary: str) -> str:
    match message.method:
        case Method.REQUEST:
            return f"{sender} invites you to: {summary}\n"
        case Method.REPLY:
            return f"{sender} answered the invitation to: {summary}\n"
        case Method.CANCEL:
            return f"{sender} cancelled: {summary}\n"


def calendar_parts(raw: bytes) -> list[str]:
    """The text/calendar parts of a message that carry an iTIP METHOD (RFC 6047 §2.4)."""
    parsed: Message = email.message_from_bytes(raw, policy=email.policy.compat32)
    found: list[str] = []
    for part in parsed.walk():
        if part.get_content_type() != "text/calendar":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or len(payload) > MAX_CALENDAR_PART_BYTES:
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        if "METHOD:" in text.upper():
            found.append(text)
    return found


class QueueIMIPSender:
    """Puts iMIP mail on the outbound queue, the path every submission takes to
    remote hosts (the organizer or attendee is the envelope sender)."""

    def __init__(
        self,
        blobs: BlobStore,
        queue: QueueService,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.blobs = blobs
        self.queue = queue
        self.on_enqueued = on_enqueued

    async def send(
        self, sender: str, recipients: Sequence[str], raw: bytes, submitted_by: PrincipalId
    ) -> None:
        blob = await self.blobs.put(raw)
        queued = await self.queue.enqueue(sender, list(recipients), blob, submitted_by=submitted_by)
        log.info("imip.queued queue_id=%s recipients=%d", queued.id, len(recipients))
        if self.on_enqueued is not None:
            self.on_enqueued()


def utcnow() -> datetime:
    return datetime.now(UTC)
