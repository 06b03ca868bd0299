"""The outbound queue (retry, delete) and the audit log viewer with CSV/JSON export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.responses import Response

from tidings.model.errors import InvalidInput
from tidings.policy.audit import record_as_json, records_as_csv
from tidings.store.services import AuditFilter, AuditRecord
from tidings.web.console.framework import SECURITY_HEADERS, Console, View

PAGE_SIZE = 50
EXPORT_PAGE = 500
MAX_EXPORT = 100_000


def _page_number(view: View) -> int:
    raw = view.request.query_params.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 7 else 1


def _queue_id(view: View) -> int:
    raw = view.request.path_params["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput("queue ids are numbers", field="id")
    return int(raw)


async def queue(view: View, console: Console) -> Response:
    number = _page_number(view)
    items, total = await console.service.operations.list_queue(
        view.actor, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return console.render("queue.html", view, items=items, total=total, page=number, pages=pages)


async def queue_retry(view: View, console: Console) -> Response:
    await console.service.operations.retry(view.actor, _queue_id(view))
    return console.redirect("/queue?retried=1")


async def queue_delete(view: View, console: Console) -> Response:
    await console.service.operations.delete_queued(view.actor, _queue_id(view))
    return console.redirect("/queue?deleted=1")


def _moment(raw: str, name: str) -> datetime | None:
    """A date (YYYY-MM-DD, UTC) or an ISO 8601 date-time; blank for none."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-01-31", field=name) from None
    if len(raw) == 10 and name == "until":
        moment += timedelta(days=1)  # a date alone means "up to the end of that day"
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filters(view: View) -> tuple[AuditFilter, dict[str, str]]:
    params = view.request.query_params
    values = {k: params.get(k, "")[:200] for k in ("actor", "action", "object_id", "since",
                                                   "until")}  # fmt: skip
    filters = AuditFilter(
        actor=values["actor"] or None,
        action=values["action"] or None,
        object_id=values["object_id"] or None,
        since=_moment(values["since"], "since"),
        until=_moment(values["until"], "until"),
    )
    return filters, values


async def audit(view: View, console: Console) -> Response:
    number = _page_number(view)
    try:
        filters, values = _filters(view)
    except InvalidInput as exc:
        return console.render("audit.html", view, 422, records=[], total=0, page=1, pages=1,
                              values={}, error=str(exc), query="")  # fmt: skip
    records, total = await console.service.operations.audit_records(
        view.actor, filters, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    query = urlencode({k: v for k, v in values.items() if v})
    return console.render(
        "audit.html", view, records=[record_as_json(r) for r in records], total=total,
        page=number, pages=pages, values=values, error="", query=query,
    )  # fmt: skip


async def audit_export(view: View, console: Console) -> Response:
    """Every matching record (up to MAX_EXPORT) as CSV or JSON, as a download."""
    kind = view.request.query_params.get("format", "json")
    if kind not in ("csv", "json"):
        raise InvalidInput("format is csv or json", field="format")
    filters, _values = _filters(view)
    records: list[AuditRecord] = []
    while len(records) < MAX_EXPORT:
        page, _total = await console.service.operations.audit_records(
            view.actor, filters, offset=len(records), limit=EXPORT_PAGE
        )
        records.extend(page)
        if len(page) < EXPORT_PAGE:
            break
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="tidings-audit-{stamp}.{kind}"'
    if kind == "csv":
        return Response(records_as_csv(records), headers=headers,
                        media_type="text/csv; charset=utf-8")  # fmt: skip
    body = json.dumps([record_as_json(r) for r in records], indent=1, ensure_ascii=False)
    return Response(body, headers=headers, media_type="application/json")
