"""`AdminService`: the one service layer behind the REST API, the CLI and the console."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.admin.auth import AdminAuth
from tidings.admin.directory import DirectoryAdminService
from tidings.admin.operations import OperationsAdminService
from tidings.directory.admin import DirectoryAdmin
from tidings.policy.audit import AuditTrail

if TYPE_CHECKING:
    from tidings.directory.auth import Authenticator
    from tidings.store.services import AdminAccessService, AuditLogService, QueueService, Store


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
    ) -> None:
        self.trail = AuditTrail(audit)
        self.hostname = hostname
        self.directory = DirectoryAdminService(directory_admin, self.trail, access)
        self.operations = OperationsAdminService(
            directory_admin.directory, self.trail, access, queue
        )
        self.auth = AdminAuth(directory_admin.directory, access, authenticator)


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
    )  # fmt: skip
