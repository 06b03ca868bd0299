"""Domains and principals: users, groups, shared mailboxes and resources."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from tidings.model.ids import DomainId, PrincipalId


class PrincipalKind(enum.StrEnum):
    USER = "user"
    GROUP = "group"  # a distribution list; owns no data
    SHARED = "shared"  # a shared mailbox, opened by users with rights on it
    ROOM = "room"
    EQUIPMENT = "equipment"

    @property
    def owns_data(self) -> bool:
        """Groups only route mail; every other kind has an account of its own."""
        return self is not PrincipalKind.GROUP


class Role(enum.StrEnum):
    """Administrative roles; USER means no admin rights."""

    USER = "user"
    GLOBAL_ADMIN = "global_admin"
    DOMAIN_ADMIN = "domain_admin"
    HELPDESK = "helpdesk"
    AUDITOR = "auditor"


class Permission(enum.StrEnum):
    """Rights one principal grants another over all of its data (Exchange style)."""

    FULL_ACCESS = "full_access"
    SEND_AS = "send_as"
    SEND_ON_BEHALF = "send_on_behalf"
    CALENDAR_DELEGATE = "calendar_delegate"
    CALENDAR_EDITOR = "calendar_editor"
    CALENDAR_REVIEWER = "calendar_reviewer"
    FREE_BUSY = "free_busy"


@dataclass(frozen=True, slots=True)
class Domain:
    id: DomainId
    name: str  # lowercase, IDNA (A-label) form
    catch_all: PrincipalId | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    id: PrincipalId
    kind: PrincipalKind
    name: str  # login name: the primary address, lowercase
    domain_id: DomainId
    display_name: str = ""
    role: Role = Role.USER
    enabled: bool = True
    quota_bytes: int | None = None  # None: no limit
    # Shared mailboxes: whether each reader keeps their own \Seen (as Exchange does).
    per_user_seen: bool = True
    created_at: datetime | None = None

    @property
    def address(self) -> str:
        return self.name

    @property
    def local_part(self) -> str:
        return self.name.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.name.rsplit("@", 1)[1]


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """How a room or equipment answers booking requests (used by the calendar)."""

    auto_accept: bool = True
    allow_conflicts: bool = False
    capacity: int | None = None
    max_duration_minutes: int | None = None
    booking_window_days: int | None = 180
    bookers: tuple[PrincipalId, ...] = ()  # empty: everyone in the domain


@dataclass(frozen=True, slots=True)
class AppPassword:
    id: int
    principal_id: PrincipalId
    label: str
    created_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """What authentication needs to know about a principal; never leaves the server."""

    principal: Principal
    password_hash: str | None
    scram_sha256: str | None = None  # "iterations$salt_b64$stored_key_b64$server_key_b64"
    app_password_hashes: tuple[tuple[int, str], ...] = field(default=())
