"""Admin API endpoints for the queue, server status, API tokens and the audit log."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from starlette.responses import Response

from tidings.model.directory import Role
from tidings.model.queue import QueuedMessage
from tidings.policy.audit import record_as_json, records_as_csv
from tidings.store.services import APIToken, AuditFilter
from tidings.web.api.framework import APIError, Call, Endpoint, Field, Result, page, paging_fields

ROLES = tuple(r.value for r in Role if r is not Role.USER)


def queued_as_json(message: QueuedMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "size": message.size,
        "created_at": message.created_at.isoformat(),
        "recipients": [
            {
                "address": r.address,
                "state": r.state.value,
                "attempts": r.attempts,
                "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                "last_error": r.last_error,
            }
            for r in message.recipients
        ],
    }


def token_as_json(token: APIToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "principal_id": token.principal_id,
        "name": token.name,
        "role": token.role.value,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


def _queue_id(call: Call) -> int:
    try:
        return int(call.path["id"])
    except ValueError:
        raise APIError(404, "not_found", "queue ids are numbers") from None


async def status(call: Call) -> Result:
    return 200, asdict(await call.service.operations.status(call.actor))


async def list_queue(call: Call) -> Result:
    items, total = await call.service.operations.list_queue(
        call.actor, offset=call.query.get("offset", 0), limit=call.query.get("limit", 100)
    )
    return page([queued_as_json(m) for m in items], total, call)


async def get_queued(call: Call) -> Result:
    message = await call.service.operations.get_queued(call.actor, _queue_id(call))
    return 200, queued_as_json(message)


async def retry_queued(call: Call) -> Result:
    await call.service.operations.retry(call.actor, _queue_id(call))
    return 202, {"id": _queue_id(call), "retry": "scheduled"}


async def delete_queued(call: Call) -> Result:
    await call.service.operations.delete_queued(call.actor, _queue_id(call))
    return 204, None


async def list_tokens(call: Call) -> Result:
    tokens = await call.service.operations.list_tokens(call.actor)
    return page([token_as_json(t) for t in tokens], len(tokens), call)


async def create_token(call: Call) -> Result:
    role = call.body.get("role")
    token, secret = await call.service.operations.create_token(
        call.actor,
        call.body["name"],
        role=Role(role) if role else None,
        for_address=call.body.get("principal"),
    )
    return 201, {**token_as_json(token), "token": secret}


async def revoke_token(call: Call) -> Result:
    try:
        token_id = int(call.path["id"])
    except ValueError:
        raise APIError(404, "not_found", "token ids are numbers") from None
    await call.service.operations.revoke_token(call.actor, token_id)
    return 204, None


def _moment(call: Call, name: str) -> datetime | None:
    raw = call.query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise APIError(422, "invalid", f"{name} must be an ISO 8601 date-time", name) from None
    if moment.tzinfo is None:
        raise APIError(422, "invalid", f"{name} needs a time zone offset", name)
    return moment


async def list_audit(call: Call) -> Result:
    q = call.query
    filters = AuditFilter(
        actor=q.get("actor"),
        action=q.get("action"),
        object_type=q.get("object_type"),
        object_id=q.get("object_id"),
        since=_moment(call, "since"),
        until=_moment(call, "until"),
    )
    records, total = await call.service.operations.audit_records(
        call.actor, filters, offset=q.get("offset", 0), limit=q.get("limit", 100)
    )
    if q.get("format") == "csv":
        return Response(records_as_csv(list(records)), media_type="text/csv; charset=utf-8")
    if q.get("format") == "ndjson":
        lines = "".join(json.dumps(record_as_json(r)) + "\n" for r in records)
        return Response(lines, media_type="application/x-ndjson")
    return page([record_as_json(r) for r in records], total, call)


async def verify_audit(call: Call) -> Result:
    bad = await call.service.operations.verify_audit(call.actor)
    return 200, {"valid": bad is None, "first_bad_id": bad}


_LIST = {"type": "object", "required": ["items", "total", "offset", "limit"]}
_PAGING = paging_fields()

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/status", status, "Counts: domains, principals, queue, audit", "status"),
    Endpoint("GET", "/v1/queue", list_queue, "List the outbound queue", "queue",
             query=_PAGING, response=_LIST),
    Endpoint("GET", "/v1/queue/{id}", get_queued, "Show a queued message", "queue"),
    Endpoint("POST", "/v1/queue/{id}/retry", retry_queued, "Retry a queued message now",
             "queue", status=202),
    Endpoint("DELETE", "/v1/queue/{id}", delete_queued, "Delete a queued message", "queue",
             status=204),
    Endpoint("GET", "/v1/tokens", list_tokens, "List API tokens (own, or all for global admins)",
             "tokens", query=_PAGING, response=_LIST),
    Endpoint("POST", "/v1/tokens", create_token, "Create an API token; shown once", "tokens",
             status=201,
             body=(Field("name", required=True), Field("role", enum=ROLES),
                   Field("principal", description="owner address (global admins only)"))),
    Endpoint("DELETE", "/v1/tokens/{id}", revoke_token, "Revoke an API token", "tokens",
             status=204),
    Endpoint("GET", "/v1/audit", list_audit, "Read or export the audit log", "audit",
             query=(Field("actor"), Field("action", description="exact, or a prefix ending in ."),
                    Field("object_type"), Field("object_id"),
                    Field("since", description="ISO 8601 with offset"),
                    Field("until", description="ISO 8601 with offset"),
                    Field("format", enum=("json", "csv", "ndjson")), *_PAGING),
             response=_LIST),
    Endpoint("GET", "/v1/audit/verify", verify_audit, "Check the audit log's hash chain",
             "audit"),
)  # fmt: skip
