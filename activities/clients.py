"""gRPC channels of the worker's activities (one short-lived channel per activity run).

Activities call the services with ``x-stride-actor`` set, so the services' audit trail says
who acted: the deciding person for an approval, ``workflow:<workflow id>`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.channels import channel as stride_channel
from services.common.errors import ERROR_CODE_KEY
from services.common.request_context import ACTOR_KEY

CALL_TIMEOUT_SECONDS = 10.0
# Statuses worth retrying (the service is down, overloaded or raced).
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)


def channel(address: str) -> grpc.aio.Channel:
    """A channel for one activity run (``async with channel(addr) as ch``): the services'
    channel factory, with the workflow as the actor of calls that name no other."""
    return stride_channel(address, actor=workflow_actor())


def workflow_actor() -> str:
    """The audit actor of a workflow's own writes."""
    try:
        return f"workflow:{activity.info().workflow_id}"
    except RuntimeError:  # outside an activity (tests)
        return "workflow"


def metadata(actor: str) -> tuple[tuple[str, str], ...]:
    return ((ACTOR_KEY, actor),)


def error_code(err: grpc.aio.AioRpcError) -> str:
    """The domain error code a service sent with a failed call ("" when none)."""
    trailers: Iterable[Any] = err.trailing_metadata() or ()
    for key, value in trailers:
        if key == ERROR_CODE_KEY:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


def to_application_error(
    service: str, err: grpc.aio.AioRpcError, refused_type: str
) -> ApplicationError:
    """Retryable for outages; non-retryable ``refused_type`` when the service said no."""
    code = error_code(err)
    message = f"{service}: {err.code().name} {code}: {err.details() or ''}".strip()
    if err.code() in RETRYABLE:
        return ApplicationError(message, type=f"{service.capitalize()}Unavailable")
    return ApplicationError(message, code or err.code().name, type=refused_type, non_retryable=True)
