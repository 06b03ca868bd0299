"""The domain error hierarchy; services raise only these, protocols map them."""


class TidingsError(Exception):
    """Base of every error a service may raise."""


class NotFound(TidingsError):
    """The object does not exist, or the actor may not know that it exists."""


class PermissionDenied(TidingsError):
    """The actor is known but lacks the right for this operation."""


class QuotaExceeded(TidingsError):
    """The operation would take the account over its storage or count quota."""


class Conflict(TidingsError):
    """A precondition failed: duplicate name, stale ETag/modseq, UID clash."""


class InvalidInput(TidingsError):
    """The request is malformed in a way the caller can fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthenticationFailed(TidingsError):
    """Credentials were wrong, or the principal is disabled or throttled."""

    def __init__(self, message: str = "authentication failed", throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


class PolicyRejection(TidingsError):
    """A policy stage refused the operation; carries an SMTP-style code."""

    def __init__(
        self, text: str, enhanced_code: str = "5.7.1", permanent: bool = True,
        code: int | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.enhanced_code = enhanced_code
        self.permanent = permanent
        self.code = code  # the basic SMTP code a stage asked for (554 for a virus); optional


class TemporaryFailure(TidingsError):
    """A transient failure (database busy, disk full, dependency down); retry later."""
