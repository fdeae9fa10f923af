"""Domain errors with a stable code, carried over gRPC to the gateway.

A service raises :class:`DomainError`; the gRPC layer turns it into a status code plus the
trailing metadata key ``stride-error-code``; the gateway turns that into RFC 9457
problem+json with the same ``code``.
"""

from __future__ import annotations

import grpc

ERROR_CODE_KEY = "stride-error-code"
# Seconds after which trying again may succeed (the gateway answers it as ``Retry-After``).
RETRY_AFTER_KEY = "stride-retry-after"


class DomainError(Exception):
    """Bad input or a broken rule. ``code`` is stable and documented; ``message`` is for people;
    ``retry_after`` (seconds) when waiting helps (a lock, a busy service)."""

    status: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: grpc.StatusCode | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        if status is not None:
            self.status = status

    def trailers(self) -> tuple[tuple[str, str], ...]:
        """The trailing metadata that carries the code (and ``retry_after``) to the caller."""
        found = [(ERROR_CODE_KEY, self.code)]
        if self.retry_after is not None:
            found.append((RETRY_AFTER_KEY, str(max(1, self.retry_after))))
        return tuple(found)


class InvalidArgument(DomainError):
    status = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    status = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    status = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    status = grpc.StatusCode.FAILED_PRECONDITION
