"""Domain errors with a stable code, carried over gRPC to the gateway.

A service raises :class:`DomainError`; the gRPC layer turns it into a status code plus the
trailing metadata key ``stride-error-code``; the gateway turns that into RFC 9457
problem+json with the same ``code``.
"""

from __future__ import annotations

import grpc

ERROR_CODE_KEY = "stride-error-code"


class DomainError(Exception):
    """Bad input or a broken rule. ``code`` is stable and documented; ``message`` is for people."""

    status: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, code: str, message: str, *, status: grpc.StatusCode | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class InvalidArgument(DomainError):
    status = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    status = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    status = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    status = grpc.StatusCode.FAILED_PRECONDITION
