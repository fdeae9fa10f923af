"""Small helpers shared by the resource routers."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from fastapi import Request, Response
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from gateway.convert import to_dict
from gateway.deps import Deps
from gateway.problems import ProblemError

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Media types an uploaded spreadsheet may come as (browsers send .csv as any of the text and
# Excel ones; application/octet-stream when they cannot tell).
UPLOAD_MEDIA_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "application/csv",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/octet-stream",
    }
)


def upload_body(summary: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that takes a CSV or XLSX file as its body."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "description": summary,
            "content": {media: binary for media in sorted(UPLOAD_MEDIA_TYPES)},
        }
    }


async def read_upload(
    request: Request, limit: int, media_types: Collection[str] = UPLOAD_MEDIA_TYPES
) -> bytes:
    """The request body: a file sent as it is (not a form). 415 for another media type, 413
    ``file_too_large`` (before reading past it) for one over ``limit`` bytes."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in media_types:
        raise ProblemError(
            415,
            "unsupported_media_type",
            "Send the CSV or XLSX file itself as the request body (Content-Type text/csv or "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), not a form.",
        )
    too_large = ProblemError(
        413, "file_too_large", f"The file is larger than {limit} bytes; split it."
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def temporal_unavailable() -> ProblemError:
    return ProblemError(503, "temporal_unavailable", "Temporal is unavailable.")


def created(request: Request, response: Response, route: str, **params: str) -> None:
    """Mark ``response`` as 201 Created with a Location header naming ``route``."""
    response.status_code = 201
    response.headers["Location"] = _path_for(request, route, params)


def _path_for(request: Request, route: str, params: dict[str, str]) -> str:
    """``app.url_path_for`` without its walk over every route on each call: each route's path
    is looked up once per app with placeholders, then filled in (ids hold no ``/``)."""
    templates: dict[tuple[str, tuple[str, ...]], str] = request.app.state.__dict__.setdefault(
        "location_templates", {}
    )
    names = tuple(sorted(params))
    template = templates.get((route, names))
    if template is None:
        placeholders = {n: f"\x00{n}\x00" for n in names}
        template = str(request.app.url_path_for(route, **placeholders))
        templates[(route, names)] = template
    for name, value in params.items():
        if "/" in value:
            raise ValueError(f"{name} holds '/'")
        template = template.replace(f"\x00{name}\x00", value)
    return template


def page(message: Any, items_field: str) -> dict[str, Any]:
    """A list response's items and next page token as ``{items, next_page_token}``."""
    return {
        "items": [to_dict(m) for m in getattr(message, items_field)],
        "next_page_token": message.page.next_page_token,
    }


async def temporal_client(deps: Deps) -> Client:
    """The gateway's Temporal client, or 503 ``temporal_unavailable``."""
    try:
        return await deps.temporal.client()
    except Exception as exc:
        log.warning("cannot connect to Temporal", error=str(exc))
        raise temporal_unavailable() from exc


async def update_once_started(
    handle: WorkflowHandle[Any, Any],
    update: str,
    arg: Any,
    *,
    result_type: type[T],
    rpc_timeout: timedelta,
    patience: float,
) -> T:
    """``handle.execute_update(...)``, asked again while the workflow does not exist yet.

    The caller has read the record from its service (so it exists); its workflow is started
    by the bridge from the record's event, a moment after the record was written. A workflow
    still missing after ``patience`` seconds (``STRIDE_WORKFLOW_START_PATIENCE``, 10 by
    default: the event is relayed and the workflow started within a second or two when
    everything runs) raises Temporal's NOT_FOUND (a 503 to the client: the
    worker or the bridge is down).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        try:
            return await handle.execute_update(
                update, arg, result_type=result_type, rpc_timeout=rpc_timeout
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND or loop.time() > deadline:
                raise
        await asyncio.sleep(0.25)


def temporal_problem(exc: Exception, not_found: ProblemError) -> ProblemError:
    """How a failed Temporal call reads to the client (``not_found``: no such workflow)."""
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            return not_found
        if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
            return ProblemError(504, "temporal_timeout", "Temporal did not answer in time.")
        if exc.status == RPCStatusCode.UNAVAILABLE:
            return temporal_unavailable()
    if isinstance(exc, RPCTimeoutOrCancelledError):
        return ProblemError(504, "temporal_timeout", "Temporal did not answer in time.")
    return ProblemError(502, "upstream_error", "Temporal failed to handle the request.")
