"""Admin API endpoints for sharing a principal's calendars and address books
(`/v1/principals/{address}/collections/{kind}/{name}/shares`, decision 0005a)."""

from __future__ import annotations

from tidings.admin.calendars import SHAREABLE, CalendarAdminService
from tidings.model.dav import CollectionKind, ShareLevel
from tidings.web.api.framework import APIError, Call, Endpoint, Field, Result, page, paging_fields

LEVELS = tuple(level.value for level in ShareLevel)
KINDS = tuple(kind.value for kind in SHAREABLE)


def _calendars(call: Call) -> CalendarAdminService:
    service = call.service.calendars
    if service is None:
        raise APIError(404, "not_found", "this server has no calendars or address books")
    return service


def _kind(call: Call) -> CollectionKind:
    kind = call.path["kind"]
    if kind not in KINDS:
        raise APIError(404, "not_found", f"collection kinds are {', '.join(KINDS)}")
    return CollectionKind(kind)


async def list_shares(call: Call) -> Result:
    rows = await _calendars(call).shares(
        call.actor, call.path["address"], _kind(call), call.path["name"]
    )
    start, limit = call.query.get("offset", 0), call.query.get("limit", 100)
    return page(rows[start : start + limit], len(rows), call)


async def share_collection(call: Call) -> Result:
    result = await _calendars(call).share(
        call.actor, call.path["address"], _kind(call), call.path["name"],
        call.path["grantee"], ShareLevel(call.body["level"]),
    )  # fmt: skip
    return 200, result


async def unshare_collection(call: Call) -> Result:
    await _calendars(call).share(
        call.actor, call.path["address"], _kind(call), call.path["name"],
        call.path["grantee"], None,
    )  # fmt: skip
    return 204, None


S = "/v1/principals/{address}/collections/{kind}/{name}/shares"
_SHARE = {"type": "object", "required": ["owner", "kind", "collection", "grantee", "level"]}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", S, list_shares, "Who a calendar or address book is shared with, at "
             "which level", "sharing", query=paging_fields(),
             response={"type": "object", "required": ["items", "total", "offset", "limit"]}),
    Endpoint("PUT", S + "/{grantee}", share_collection,
             "Share a calendar or address book with a user or group (or change the level)",
             "sharing", body=(Field("level", required=True, enum=LEVELS,
                                    description="free_busy (calendars), read, read_write, "
                                                "manage"),), response=_SHARE),
    Endpoint("DELETE", S + "/{grantee}", unshare_collection, "Stop sharing with a grantee",
             "sharing", status=204),
)  # fmt: skip
