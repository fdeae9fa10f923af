"""Request body limits: a body over the limit is refused with 413 before it is read.

Pure ASGI middleware, in front of routing and sign-in, so it holds for every path (also
``POST /auth/login``, where four parallel 200 MB bodies once took the gateway from 0.2 to
1.5 GB):

- a ``Content-Length`` over the limit is answered at once; the app never runs and nothing of
  the body is read (uvicorn does not even send ``100 Continue``);
- a body without ``Content-Length`` (chunked) is counted as its chunks arrive and cut off as
  soon as it passes the limit: reading it raises :class:`BodyTooLarge`, a 413 HTTPException
  that FastAPI's body parsing passes on to the problem handler (``payload_too_large``).

The limit is ``GatewaySettings.max_body_bytes`` (1 MiB). Routes that take bulk bodies
declare ``openapi_extra=BULK_BODY`` (shown as ``x-stride-bulk-body`` in the OpenAPI
document) and get ``max_bulk_body_bytes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import http_problem_code, problem

BULK_EXTENSION = "x-stride-bulk-body"
# openapi_extra of a route that takes bulk bodies (bulk check-ins, uploads).
BULK_BODY: dict[str, Any] = {BULK_EXTENSION: True}


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        # The client may still be sending: it should not reuse the connection.
        super().__init__(
            413, f"The request body is larger than {limit} bytes.", headers={"Connection": "close"}
        )


@dataclass(frozen=True)
class BodyLimits:
    default: int
    bulk: int
    # (methods, path pattern) of the routes that allow ``bulk``.
    bulk_routes: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = ()

    def for_request(self, method: str, path: str) -> int:
        for methods, pattern in self.bulk_routes:
            if method in methods and pattern.match(path):
                return self.bulk
        return self.default


def bulk_routes(
    routes: Iterable[tuple[str, Iterable[str], Any]],
) -> list[tuple[frozenset[str], re.Pattern[str]]]:
    """The (methods, pattern) of every route (full path, methods, route object) that declares
    :data:`BULK_BODY`."""
    found = []
    for path, methods, route in routes:
        if (getattr(route, "openapi_extra", None) or {}).get(BULK_EXTENSION):
            pattern, _, _ = compile_path(path)
            found.append((frozenset(methods), pattern))
    return found


def _too_large(scope: Scope, limit: int) -> Any:
    exc = BodyTooLarge(limit)
    return problem(
        413,
        http_problem_code(413),
        str(exc.detail),
        instance=scope.get("path", ""),
        request_id=scope.get("state", {}).get("request_id"),
        headers=dict(exc.headers or {}),
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_request(scope["method"], scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _too_large(scope, limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Read outside FastAPI's body parsing (nothing turned it into a response yet).
            if started:
                raise
            await _too_large(scope, limit)(scope, receive, send)
