"""Small helpers shared by the resource routers."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import Request, Response
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from gateway.convert import to_dict
from gateway.deps import Deps
from gateway.problems import ProblemError

log = structlog.get_logger(__name__)


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
