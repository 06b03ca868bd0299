"""Admin API endpoints for the quarantine, per-user sender lists and spam rules."""

from __future__ import annotations

from typing import Any

from tidings.admin.hygiene import HygieneAdminService
from tidings.store.services import QuarantineEntry, SenderListEntry
from tidings.web.api.framework import APIError, Call, Endpoint, Field, Result, page, paging_fields


def _hygiene(call: Call) -> HygieneAdminService:
    service = call.service.hygiene
    if service is None:
        raise APIError(404, "not_found", "this server has no quarantine or spam settings")
    return service


def _entry_id(call: Call) -> int:
    try:
        return int(call.path["id"])
    except ValueError:
        raise APIError(404, "not_found", "quarantine ids are numbers") from None


def entry_as_json(entry: QuarantineEntry) -> dict[str, Any]:
    held = entry.held
    return {
        "id": entry.id,
        "created_at": entry.created_at.isoformat(),
        "status": entry.status,
        "sender": held.sender,
        "recipients": list(held.recipients),
        "from": held.from_,
        "subject": held.subject,
        "size": held.blob.size,
        "reason": held.reason,
        "score": held.score,
        "report": held.report,
        "resolved_at": entry.resolved_at.isoformat() if entry.resolved_at else None,
        "resolved_by": entry.resolved_by,
    }


def sender_as_json(entry: SenderListEntry) -> dict[str, Any]:
    return {"pattern": entry.pattern, "kind": entry.kind,
            "created_at": entry.created_at.isoformat()}


async def list_quarantine(call: Call) -> Result:
    status = call.query.get("status", "held")
    items, total = await _hygiene(call).list_quarantine(
        call.actor, status=None if status == "all" else status,
        offset=call.query.get("offset", 0), limit=call.query.get("limit", 100))
    return page([entry_as_json(e) for e in items], total, call)


async def get_quarantined(call: Call) -> Result:
    hygiene = _hygiene(call)
    entry = await hygiene.get(call.actor, _entry_id(call))
    headers = await hygiene.header_section(call.actor, entry.id)
    return 200, {**entry_as_json(entry), "headers": headers}


async def release_quarantined(call: Call) -> Result:
    entry, copies = await _hygiene(call).release(call.actor, _entry_id(call))
    return 200, {**entry_as_json(entry), "delivered": copies}


async def delete_quarantined(call: Call) -> Result:
    await _hygiene(call).delete(call.actor, _entry_id(call))
    return 204, None


async def list_senders(call: Call) -> Result:
    entries = await _hygiene(call).senders(call.actor, call.path["address"])
    return page([sender_as_json(e) for e in entries], len(entries), call)


async def add_sender(call: Call) -> Result:
    entry = await _hygiene(call).add_sender(
        call.actor, call.path["address"], call.body["pattern"], call.body["kind"])
    return 201, sender_as_json(entry)


async def remove_sender(call: Call) -> Result:
    await _hygiene(call).remove_sender(call.actor, call.path["address"], call.path["pattern"])
    return 204, None


async def list_rules(call: Call) -> Result:
    rules = await _hygiene(call).rules(call.actor)
    items = [{"name": r.name, "weight": r.weight, "default": r.default,
              "description": r.description} for r in rules]
    return page(items, len(items), call)


async def set_rule(call: Call) -> Result:
    weight = call.body.get("weight")
    if weight is not None and not isinstance(weight, int | float):
        raise APIError(422, "invalid", "weight must be a number or null", "weight")
    await _hygiene(call).set_rule(call.actor, call.path["name"],
                                  float(weight) if weight is not None else None)
    return 200, {"name": call.path["name"], "weight": weight}


async def spam_stats(call: Call) -> Result:
    stats = await _hygiene(call).stats(call.actor, call.query.get("principal"))
    return 200, {"spam_messages": stats.spam_messages, "ham_messages": stats.ham_messages,
                 "tokens": stats.tokens}


_LIST = {"type": "object", "required": ["items", "total", "offset", "limit"]}
_PAGING = paging_fields()
S = "/v1/principals/{address}/senders"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/quarantine", list_quarantine, "List quarantined messages",
             "quarantine", query=(Field("status", enum=("held", "released", "deleted", "all")),
                                  *_PAGING), response=_LIST),
    Endpoint("GET", "/v1/quarantine/{id}", get_quarantined,
             "Show a quarantined message: why it was held and its header fields", "quarantine"),
    Endpoint("POST", "/v1/quarantine/{id}/release", release_quarantined,
             "Deliver a quarantined message to its recipients", "quarantine"),
    Endpoint("DELETE", "/v1/quarantine/{id}", delete_quarantined,
             "Delete a quarantined message", "quarantine", status=204),
    Endpoint("GET", S, list_senders, "A user's safe and blocked senders", "spam",
             query=_PAGING, response=_LIST),
    Endpoint("POST", S, add_sender, "Add a safe or blocked sender (address or domain)",
             "spam", status=201,
             body=(Field("pattern", required=True), Field("kind", required=True,
                                                          enum=("safe", "blocked")))),
    Endpoint("DELETE", S + "/{pattern}", remove_sender, "Remove a safe or blocked sender",
             "spam", status=204),
    Endpoint("GET", "/v1/spam/rules", list_rules, "Spam rules and their weights", "spam",
             query=_PAGING, response=_LIST),
    Endpoint("PUT", "/v1/spam/rules/{name}", set_rule,
             "Override a rule's weight (0 disables it; null restores the default)", "spam",
             body=(Field("weight", "number", nullable=True),)),
    Endpoint("GET", "/v1/spam/stats", spam_stats, "What the Bayesian classifier has learned",
             "spam", query=(Field("principal", description="an address; omit for global"),)),
)  # fmt: skip
