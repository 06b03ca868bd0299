"""The admin audit log as the service layer sees it: record, read, verify, export.

Storage and the hash chain live in the store (`AuditLogService`); this module
turns admin actions into records and records into JSON/CSV for people.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tidings.store.services import AuditFilter, AuditLogService, AuditRecord

log = logging.getLogger(__name__)

JSONMap = Mapping[str, object]
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "actor_address",
    "remote_ip",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)
EXPORT_PAGE = 500


class AuditTrail:
    """Appends admin actions to the hash-chained log."""

    def __init__(self, log_service: AuditLogService) -> None:
        self.service = log_service

    async def record(
        self,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        actor_address: str | None = None,
        remote_ip: str | None = None,
        before: JSONMap | None = None,
        after: JSONMap | None = None,
    ) -> AuditRecord:
        """Append one record; returns after it is durable."""
        from tidings.store.services import AuditEvent

        return await self.service.append(
            AuditEvent(
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                actor_address=actor_address,
                remote_ip=remote_ip,
                before=dict(before) if before is not None else None,
                after=dict(after) if after is not None else None,
            )
        )

    async def all_records(self, filters: AuditFilter | None = None) -> AsyncIterator[AuditRecord]:
        """Every matching record, oldest first, read page by page."""
        offset = 0
        while True:
            page, _total = await self.service.list(filters, offset=offset, limit=EXPORT_PAGE)
            for record in page:
                yield record
            if len(page) < EXPORT_PAGE:
                return
            offset += len(page)


def record_as_json(record: AuditRecord) -> dict[str, object]:
    event = record.event
    return {
        "id": record.id,
        "at": record.at.isoformat(),
        "actor": event.actor,
        "actor_address": event.actor_address,
        "remote_ip": event.remote_ip,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def records_as_csv(records: list[AuditRecord]) -> str:
    """CSV with a header row; before/after as JSON text in their cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        view = record_as_json(record)
        for key in ("before", "after"):
            if view[key] is not None:
                view[key] = json.dumps(view[key], sort_keys=True, ensure_ascii=False)
        writer.writerow(["" if view[c] is None else view[c] for c in CSV_COLUMNS])
    return out.getvalue()
