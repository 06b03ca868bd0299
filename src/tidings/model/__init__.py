"""Plain values shared by every part of Tidings; imports nothing of ours."""

from tidings.model.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRejection,
    QuotaExceeded,
    TemporaryFailure,
    TidingsError,
)
from tidings.model.ids import (
    UID,
    AccountId,
    BlobId,
    DomainId,
    EmailId,
    MailboxId,
    ModSeq,
    PrincipalId,
    QueueId,
    SeqNum,
)

__all__ = [
    "UID",
    "AccountId",
    "AuthenticationFailed",
    "BlobId",
    "Conflict",
    "DomainId",
    "EmailId",
    "InvalidInput",
    "MailboxId",
    "ModSeq",
    "NotFound",
    "PermissionDenied",
    "PolicyRejection",
    "PrincipalId",
    "QueueId",
    "QuotaExceeded",
    "SeqNum",
    "TemporaryFailure",
    "TidingsError",
]
