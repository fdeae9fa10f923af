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
# NUL in a raw query string, percent-encoded (either case) or as is.
_NUL = re.compile(rb"%00|\x00")


class RequestIdMiddleware:
    """Pure ASGI middleware.

    - Reuses the incoming ``X-Request-ID`` (when sane) or makes one; puts it in
      ``request.state.request_id``, the log context and the response headers.
    - Refuses a path or query string holding NUL (``%00``) with a 422 ``invalid_character``:
      no id, filter or name can hold it (PostgreSQL text cannot store it), and a service
      should not be asked to look one up.
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

        if "\x00" in scope["path"] or _NUL.search(scope.get("query_string", b"")):
            response = problem(
                422,
                "invalid_character",
                "The path or query string holds a NUL character (%00).",
                instance=scope["path"].replace("\x00", "%00"),
                request_id=request_id,
            )
            await response(scope, receive, send_with_id)
            return
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
