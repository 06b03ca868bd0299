"""The end of DATA/BDAT: submission header rules, then durable delivery; 250 only
after the commit (ARCHITECTURE.md rule 3, STYLE.md §4)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tidings.delivery.inbound import DeliveryRequest, RecipientEntry
from tidings.delivery.received import ReceivedInfo, new_message_id
from tidings.delivery.submission import prepare_submitted
from tidings.model.errors import TidingsError
from tidings.smtp.commands.envelope import EnvelopeCommands, resolved_of
from tidings.smtp.commands.services import SMTPServices
from tidings.smtp.errors import Stage, reply_for
from tidings.smtp.events import Accepted, DeliverMessage, Outcome, Refused

log = logging.getLogger(__name__)


def _mail_domain(hostname: str) -> str:
    return hostname.split(".", 1)[1] if hostname.count(".") >= 2 else hostname


async def finish_message(
    services: SMTPServices, envelope_commands: EnvelopeCommands, request: DeliverMessage
) -> Outcome:
    envelope = request.envelope
    trace = request.trace
    content = request.content
    message_id = new_message_id()
    try:
        if services.kind.is_submission and trace.principal is not None:
            rights = await envelope_commands.rights(trace.principal)
            content = prepare_submitted(
                content, rights, domain=_mail_domain(services.hostname), now=datetime.now(UTC)
            )
        receipt = await services.inbound.deliver(DeliveryRequest(
            sender=envelope.sender_text,
            recipients=tuple(
                RecipientEntry(resolved_of(rc.resolved), rc.params.notify_text, rc.params.orcpt)
                for rc in envelope.recipients
            ),
            content=content,
            received=ReceivedInfo(trace.ehlo_name, trace.peer_host, trace.protocol),
            submitted_by=trace.principal if services.kind.is_submission else None,
            dsn_ret=envelope.params.ret.value if envelope.params.ret else None,
            dsn_envid=envelope.params.envid,
            message_id=message_id,
        ))
    except TidingsError as error:
        log.info("smtp.message_refused id=%s error=%s", message_id, type(error).__name__)
        return Refused(reply_for(error, Stage.DATA))
    key = services.rate_key(trace.principal.name if trace.principal else None,
                            envelope.sender_text)
    if services.sender_rate is not None and key is not None:
        services.sender_rate.record(key)
    return Accepted(f"Message accepted, id {receipt.id}")
