"""`AdminService`: the one service layer behind the REST API, the CLI and the console."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tidings.admin.auth import AdminAuth
from tidings.admin.calendars import CalendarAdminService
from tidings.admin.directory import DirectoryAdminService
from tidings.admin.hygiene import HygieneAdminService
from tidings.admin.operations import OperationsAdminService
from tidings.admin.totp import SecondFactorAdmin
from tidings.directory.admin import DirectoryAdmin
from tidings.hygiene.spam.wiring import quarantine_of
from tidings.policy.audit import AuditTrail

if TYPE_CHECKING:
    from tidings.directory.auth import Authenticator
    from tidings.store.services import (
        AdminAccessService,
        AuditLogService,
        ConsoleStateService,
        DAVService,
        QueueService,
        Store,
    )


class AdminService:
    """Role-checked, audited admin operations: `.directory` and `.operations`."""

    def __init__(
        self,
        directory_admin: DirectoryAdmin,
        queue: QueueService | None,
        audit: AuditLogService,
        access: AdminAccessService,
        authenticator: Authenticator,
        *,
        hostname: str = "localhost",
        console_state: ConsoleStateService | None = None,
        hygiene: Store | None = None,
        spam_rules: Mapping[str, float] | None = None,
        dav: DAVService | None = None,
    ) -> None:
        self.trail = AuditTrail(audit)
        self.hostname = hostname
        self.directory = DirectoryAdminService(directory_admin, self.trail, access)
        self.operations = OperationsAdminService(
            directory_admin.directory, self.trail, access, queue, usage=console_state
        )
        # Console sessions and second factors (None: an API-only service, as in tests).
        self.console_state = console_state
        self.second_factor = (
            SecondFactorAdmin(self.directory, console_state, f"Tidings {hostname}")
            if console_state is not None
            else None
        )
        self.auth = AdminAuth(directory_admin.directory, access, authenticator)
        # Quarantine, sender lists and spam rules (None: not offered, as in API-only tests).
        self.hygiene = (
            HygieneAdminService(quarantine_of(hygiene), hygiene.spam, self.trail,
                                self.directory, spam_rules)
            if hygiene is not None
            else None
        )
        # Calendar and address-book sharing (None: no DAV store, as in API-only tests).
        self.calendars = (
            CalendarAdminService(dav, directory_admin.directory, self.trail)
            if dav is not None
            else None
        )


def build_admin_service(
    store: Store, authenticator: Authenticator, *, hostname: str
) -> AdminService:
    """The admin service over an opened store (used by the server and the CLI)."""
    return AdminService(
        DirectoryAdmin(store.directory, authenticator.hasher,
                       scram_iterations=authenticator.scram_iterations),
        store.queue,
        store.audit,
        store.admin_access,
        authenticator,
        hostname=hostname,
        console_state=store.console_state,
        hygiene=store,
        dav=store.dav,
    )  # fmt: skip
