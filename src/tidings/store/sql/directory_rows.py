"""Row <-> model conversion and input normalisation for the directory service."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.directory import (
    AppPassword,
    Domain,
    Principal,
    PrincipalKind,
    ResourcePolicy,
    Role,
)
from tidings.model.errors import Conflict, InvalidInput, NotFound
from tidings.model.ids import DomainId, PrincipalId
from tidings.store.sql import schema
from tidings.store.sql.database import Tx

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
# RFC 5322 §3.2.3 dot-atom text, lowercased; quoted local parts are not accepted.
# RFC 6531 §3.3 adds any non-ASCII UTF-8 character to atext (no spaces or controls).
_LOCAL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
    r"(\.[a-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+)*$"
)

P = schema.principals
A = schema.addresses
T = TypeVar("T")


def normalize_domain(name: str) -> str:
    """Lowercase A-label form (RFC 5890). Raises InvalidInput."""
    text = name.strip().rstrip(".").lower()
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidInput(f"{name!r} is not a valid domain name", field="domain") from exc
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(f"{name!r} is not a valid domain name", field="domain")
    return text


def normalize_address(address: str) -> tuple[str, str]:
    """(full address, domain), lowercased. Raises InvalidInput."""
    local, at, domain = address.strip().rpartition("@")
    # One spelling per UTF-8 address (RFC 6532 §3.1 recommends NFC).
    local = unicodedata.normalize("NFC", local).lower()
    if (
        not at or not local or len(local.encode("utf-8")) > 64 or not _LOCAL.match(local)
        or not all(c.isascii() or (c.isprintable() and not c.isspace()) for c in local)
    ):
        raise InvalidInput(f"{address!r} is not a valid address", field="address")
    domain = normalize_domain(domain)
    return f"{local}@{domain}", domain


def check_length(value: str, limit: int, field: str) -> str:
    """Raises InvalidInput when `value` would not fit its column."""
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return value


def domain_from_row(row: Row[Any]) -> Domain:
    catch_all = row.catch_all_id
    return Domain(
        id=DomainId(int(row.id)),
        name=row.name,
        catch_all=None if catch_all is None else PrincipalId(int(catch_all)),
        created_at=row.created_at,
    )


def principal_columns() -> Select[Any]:
    return select(
        P.c.id,
        P.c.kind,
        P.c.name,
        P.c.domain_id,
        P.c.display_name,
        P.c.role,
        P.c.enabled,
        P.c.quota_bytes,
        P.c.per_user_seen,
        P.c.created_at,
    )


def principal_from_row(row: Row[Any]) -> Principal:
    quota = row.quota_bytes
    return Principal(
        id=PrincipalId(int(row.id)),
        kind=PrincipalKind(row.kind),
        name=row.name,
        domain_id=DomainId(int(row.domain_id)),
        display_name=row.display_name,
        role=Role(row.role),
        enabled=bool(row.enabled),
        quota_bytes=None if quota is None else int(quota),
        per_user_seen=bool(row.per_user_seen),
        created_at=row.created_at,
    )


def app_password_from_row(row: Row[Any]) -> AppPassword:
    return AppPassword(
        id=int(row.id),
        principal_id=PrincipalId(int(row.principal_id)),
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


_BY_ID = principal_columns().where(P.c.id == bindparam("p_id"))


async def load_principal(conn: AsyncConnection, principal_id: PrincipalId) -> Principal:
    """Raises NotFound."""
    row = (await conn.execute(_BY_ID, {"p_id": principal_id})).first()
    if row is None:
        raise NotFound(f"principal {principal_id} does not exist")
    return principal_from_row(row)


async def load_domain_id(conn: AsyncConnection, name: str) -> DomainId:
    """Raises NotFound when the domain is not local."""
    value = (
        await conn.execute(select(schema.domains.c.id).where(schema.domains.c.name == name))
    ).scalar_one_or_none()
    if value is None:
        raise NotFound(f"domain {name} is not a local domain")
    return DomainId(int(value))


def policy_to_json(policy: ResourcePolicy) -> str:
    return json.dumps(
        {
            "auto_accept": policy.auto_accept,
            "allow_conflicts": policy.allow_conflicts,
            "capacity": policy.capacity,
            "max_duration_minutes": policy.max_duration_minutes,
            "booking_window_days": policy.booking_window_days,
            "bookers": list(policy.bookers),
        }
    )


def policy_from_json(text: str | None) -> ResourcePolicy:
    if not text:
        return ResourcePolicy()
    data = json.loads(text)
    return ResourcePolicy(
        auto_accept=bool(data["auto_accept"]),
        allow_conflicts=bool(data["allow_conflicts"]),
        capacity=data["capacity"],
        max_duration_minutes=data["max_duration_minutes"],
        booking_window_days=data["booking_window_days"],
        bookers=tuple(PrincipalId(int(b)) for b in data["bookers"]),
    )


def conflict_on_integrity(
    fn: Callable[[Tx], Awaitable[T]], message: str
) -> Callable[[Tx], Awaitable[T]]:
    """A unique key lost a race with another writer: report it as Conflict."""

    async def run(tx: Tx) -> T:
        try:
            return await fn(tx)
        except IntegrityError as exc:
            raise Conflict(message) from exc

    return run


async def address_taken(conn: AsyncConnection, address: str) -> bool:
    found = await conn.execute(select(A.c.address).where(A.c.address == address))
    return found.first() is not None
