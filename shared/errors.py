"""Domain errors. Each maps to one gRPC status in services.interceptors.

Raise these (never `assert`) for anything a caller can act on; anything else
becomes INTERNAL with a request id, and its traceback goes to the log only.
"""

from __future__ import annotations


class TerrafakeError(Exception):
    """Base class: an error with a message a person can act on."""

    code = "INTERNAL"

    def __init__(self, message: str, *, retry_after_seconds: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


class InvalidArgument(TerrafakeError):
    code = "INVALID_ARGUMENT"


class NotFound(TerrafakeError):
    code = "NOT_FOUND"


class AlreadyExists(TerrafakeError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(TerrafakeError):
    code = "FAILED_PRECONDITION"


class ResourceExhausted(TerrafakeError):
    code = "RESOURCE_EXHAUSTED"


class Unavailable(TerrafakeError):
    code = "UNAVAILABLE"


class Unauthenticated(TerrafakeError):
    code = "UNAUTHENTICATED"


class PermissionDenied(TerrafakeError):
    code = "PERMISSION_DENIED"


class TransientError(TerrafakeError):
    """A job step failed for a reason that may pass (network, busy server): retry it."""

    code = "UNAVAILABLE"


class JobCancelled(Exception):
    """Raised inside a job when a cancel was requested; the runner marks it CANCELLED."""
