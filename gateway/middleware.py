"""Request ids on every response, and the last line of defence against unexpected errors."""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import REQUEST_ID_HEADER, problem

log = structlog.get_logger(__name__)

# An incoming id is reused only when it is short and plain (it ends up in logs and metadata).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Pure ASGI middleware.

    - Reuses the incoming ``X-Request-ID`` (when sane) or makes one; puts it in
      ``request.state.request_id``, the log context and the response headers.
    - Turns any exception no handler dealt with into a 500 problem+json ``internal_error``
      without details (those go to the log), still carrying the request id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled error", method=scope.get("method"), path=scope["path"])
                if started:
                    raise
                response = problem(
                    500,
                    "internal_error",
                    "An unexpected error occurred; quote the request id when reporting it.",
                    instance=scope["path"],
                    request_id=request_id,
                )
                await response(scope, receive, send_with_id)
