"""The outbound DKIM signer (RFC 6376 §5, RFC 8463): an OutboundStage that signs each
message with the newest key of its From domain, in a thread (the crypto is CPU work)."""

from __future__ import annotations

import asyncio
import logging
from email.utils import getaddresses

import dkim  # type: ignore[import-untyped]

from tidings.delivery.outbound.stages import OutboundMessage
from tidings.hygiene.dkim_keys import DKIMKey, DKIMKeyStore
from tidings.hygiene.headers import fields, values

log = logging.getLogger(__name__)

# The fields a reader relies on (RFC 6376 §5.4.1); From is required.
SIGNED_FIELDS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to", b"in-reply-to",
    b"references", b"mime-version", b"content-type", b"content-transfer-encoding",
)


def signing_domain(raw: bytes, envelope_sender: str) -> str | None:
    """The From domain (what DMARC aligns with), else the envelope sender's."""
    from_fields = values(raw, "From")
    addresses = [a for _, a in getaddresses(from_fields) if "@" in a]
    if addresses:
        return addresses[0].rpartition("@")[2].lower().rstrip(".")
    if "@" in envelope_sender:
        return envelope_sender.rpartition("@")[2].lower()
    return None


def sign(raw: bytes, key: DKIMKey, private_key: bytes) -> bytes:
    """`raw` with a DKIM-Signature field on top. Raises dkim.DKIMException."""
    present = {name.lower() for name in _field_names(raw)}
    include = [f for f in SIGNED_FIELDS if f.decode() in present]
    field = dkim.sign(
        raw, key.selector.encode(), key.domain.encode(), private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=key.algorithm.signature_algorithm,
        include_headers=include,
    )
    return bytes(field) + raw


def _field_names(raw: bytes) -> list[str]:
    return [name for name, _ in fields(raw)]


class DKIMSigner:
    """OutboundStage: signs with the newest key of the message's domain, if it has one."""

    name = "dkim"

    def __init__(self, keys: DKIMKeyStore) -> None:
        self.keys = keys

    async def process(self, message: OutboundMessage) -> bytes:
        domain = signing_domain(message.content, message.sender)
        key = self.keys.signing_key(domain) if domain else None
        if key is None:
            return message.content
        try:
            private = self.keys.private_key(key)
            signed = await asyncio.to_thread(sign, message.content, key, private)
        except (OSError, dkim.DKIMException) as exc:
            # Unsigned mail still goes out; the operator sees why in the log.
            log.error("hygiene.dkim_sign_failed domain=%s selector=%s error=%s", key.domain,
                      key.selector, exc)
            return message.content
        log.info("hygiene.dkim_signed queue_id=%s d=%s s=%s a=%s", message.queue_id,
                 key.domain, key.selector, key.algorithm)
        return signed
