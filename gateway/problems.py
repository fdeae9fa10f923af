"""RFC 9457 problem+json responses and the exception handlers that produce them.

Every error the gateway returns has a stable ``code``. gRPC errors take it from the
``stride-error-code`` trailer set by the service (see services/common/errors.py) and fall
back to a code derived from the status; their HTTP status follows the shared mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import grpc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.schemas.problems import Problem
from services.common.errors import ERROR_CODE_KEY, RETRY_AFTER_KEY

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
# RFC 9110 §11.6.1: every 401 names the scheme; RFC 6750 §3 for the error attribute.
AUTH_REALM = 'Bearer realm="stride"'
# Seconds a client is asked to wait before retrying a 503 (a backing service or the database
# is unavailable: usually a restart, back within seconds).
RETRY_AFTER_SECONDS = 2
# 401 codes that mean "the credentials sent are bad" rather than "none were sent".
_BAD_TOKEN_CODES = {"invalid_token", "token_expired", "invalid_api_key"}


def www_authenticate(code: str) -> str:
    if code in _BAD_TOKEN_CODES:
        return f'{AUTH_REALM}, error="invalid_token"'
    return AUTH_REALM


# gRPC status → (HTTP status, fallback code when the service sent no stride-error-code).
GRPC_STATUS_MAP: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (422, "invalid_argument"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "already_exists"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "failed_precondition"),
    # A conflicting concurrent write (e.g. concurrent_check_in): the client may retry.
    grpc.StatusCode.ABORTED: (409, "aborted"),
    # Credentials: wrong password, bad refresh token or API key (code e.g. invalid_credentials).
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "forbidden"),
    # Too many attempts (code e.g. account_locked).
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "too_many_requests"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "service_timeout"),
}
GRPC_DEFAULT: tuple[int, str] = (502, "upstream_error")

# Every stable code the telemetry service answers with, and the HTTP status the gateway gives
# it (from GRPC_STATUS_MAP; tests/unit/gateway/test_telemetry_problems.py reads the service's
# source and keeps this table complete, and docs/telemetry.md lists it). Most of the 422s
# never reach a client: the gateway's schemas refuse the same input first (validation_error).
TELEMETRY_PROBLEMS: dict[str, int] = {
    "binding_not_found": 404,
    "metric_not_found": 404,
    "key_result_bound": 409,
    "not_machine_fed": 409,
    "unit_change": 409,
    "concurrent_metric_change": 409,
    "unknown_key_result": 422,
    "unknown_metric": 422,
    "key_result_required": 422,
    "metric_required": 422,
    "too_many_samples": 422,
    "invalid_aggregation": 422,
    "invalid_window": 422,
    "invalid_denominator": 422,
    "invalid_percentile": 422,
    "invalid_transform": 422,
    "invalid_source": 422,
    "invalid_metric_name": 422,
    "invalid_unit": 422,
    "invalid_expected_interval": 422,
    "invalid_at": 422,
    "invalid_cycle_start": 422,
    "invalid_reason": 422,
    # goals did not answer the telemetry service (binding a key result): retry.
    "goals_unavailable": 503,
}
# Statuses whose details were written for people by the service (DomainError.message);
# the details of any other status may carry internals and are not passed on.
_CLIENT_FACING = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
_GENERIC_DETAIL = {
    503: "A backing service is unavailable; retry later.",
    504: "A backing service did not answer in time; retry later.",
    502: "A backing service failed to handle the request.",
}
_CODE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def http_problem_code(status: int) -> str:
    """The stable code of an HTTP-level refusal (404, 405, 413, ...)."""
    return _HTTP_CODES.get(status, f"http_{status}")


class ProblemError(Exception):
    """Raise from a route to answer with a problem+json of the given status and code
    (``headers``: response headers such as ``Retry-After``; ``extra``: body members)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        type=f"urn:stride:problem:{code}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        instance=instance,
        request_id=request_id,
        **extra,
    )
    if status == 401:
        headers = {"WWW-Authenticate": www_authenticate(code), **(headers or {})}
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def request_problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return problem(
        status,
        code,
        detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        headers=headers,
        **extra,
    )


def _trailer(metadata: Iterable[Any] | None, name: str) -> str | None:
    for key, value in metadata or ():
        if key == name:
            return str(value.decode() if isinstance(value, bytes) else value)
    return None


def _error_code(metadata: Iterable[Any] | None) -> str | None:
    code = _trailer(metadata, ERROR_CODE_KEY)
    return code if code is not None and _CODE.match(code) else None


def _retry_after(metadata: Iterable[Any] | None) -> dict[str, str] | None:
    """``Retry-After`` from the service's ``stride-retry-after`` (whole seconds only)."""
    seconds = _trailer(metadata, RETRY_AFTER_KEY)
    return {"Retry-After": seconds} if seconds and seconds.isdigit() else None


def service_code(err: grpc.aio.AioRpcError) -> str | None:
    """The stable code a service sent with an error (``stride-error-code``), if any."""
    return _error_code(err.trailing_metadata())


def grpc_problem(request: Request, err: grpc.aio.AioRpcError) -> JSONResponse:
    status_code = err.code()
    http_status, fallback = GRPC_STATUS_MAP.get(status_code, GRPC_DEFAULT)
    code = _error_code(err.trailing_metadata()) or fallback
    if status_code in _CLIENT_FACING:
        detail = err.details() or HTTPStatus(http_status).phrase
    else:
        detail = _GENERIC_DETAIL.get(http_status, _GENERIC_DETAIL[502])
        log.warning(
            "gRPC call failed",
            grpc_status=status_code.name,
            grpc_details=err.details(),
            path=request.url.path,
        )
    headers = _retry_after(err.trailing_metadata())
    return request_problem(request, http_status, code, detail, headers=headers)


def _field_errors(errors: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        # loc[0] is where the value came from (body, query, path, header).
        field = ".".join(str(p) for p in loc[1:]) or (str(loc[0]) if loc else "")
        message, kind = str(e.get("msg", "")), str(e.get("type", ""))
        out.append({"loc": loc, "field": field, "message": message, "type": kind})
    return out


class MalformedJson(str):
    """Stands in for a request body that is not JSON (gateway/routes.py); its text says why.

    A ``str``: no request model accepts one (an object with attributes would pass a model
    whose fields are all optional, as FastAPI validates bodies ``from_attributes``).
    """

    @property
    def reason(self) -> str:
        return str(self)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if isinstance(exc.body, MalformedJson):
        return request_problem(
            request, 400, "malformed_json", f"The request body is not JSON: {exc.body.reason}."
        )
    errors = _field_errors(exc.errors())
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
    detail = f"Invalid request: {fields}." if fields else "Invalid request."
    return request_problem(request, 422, "validation_error", detail, errors=errors)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = http_problem_code(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    response = request_problem(request, exc.status_code, code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _grpc_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, grpc.aio.AioRpcError)
    return grpc_problem(request, exc)


async def _problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return request_problem(
        request, exc.status, exc.code, exc.detail, headers=exc.headers, **exc.extra
    )


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(grpc.aio.AioRpcError, _grpc_handler)
    app.add_exception_handler(ProblemError, _problem_handler)


# What each error status means, for the OpenAPI document (gateway/openapi.py decides which
# statuses each operation documents; a route adds its own with ``problem_responses``).
PROBLEM_STATUSES: dict[int, str] = {
    400: "The request body is not JSON (code malformed_json)",
    401: "Not signed in or bad credentials (code unauthenticated, invalid_token, "
    "token_expired, invalid_api_key, invalid_credentials, invalid_refresh_token); carries "
    "WWW-Authenticate",
    403: "Not allowed (code forbidden, insufficient_scope, password_change_required, "
    "admin_required, ...)",
    404: "Not found, or not yours to see (code e.g. not_found, objective_not_found)",
    409: "Conflict: already exists or a rule forbids it now (e.g. cycle_closed)",
    413: "The request body is over the limit (code payload_too_large); refused before it is read",
    422: "Invalid input (code validation_error with the fields' errors, or a service's own code)",
    429: "Too many attempts (code account_locked, too_many_sign_in_attempts); carries Retry-After",
    500: "Unexpected error (code internal_error)",
    502: "A backing service failed (code upstream_error)",
    503: "A backing service or the database is unavailable, or sign-in is busy (code "
    "service_unavailable, database_unavailable, temporal_unavailable, sign_in_busy); carries "
    "Retry-After",
    504: "A backing service timed out (code service_timeout); retry later",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route that answers ``statuses`` beyond what its shape implies
    (gateway/openapi.py gives them the problem+json content)."""
    return {status: {"description": PROBLEM_STATUSES[status]} for status in statuses}
