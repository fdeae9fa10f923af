"""How the API's routes read a request: malformed JSON answered in its turn, and a complete
``Allow`` header on 405.

**Malformed JSON.** FastAPI parses a JSON body before it solves a route's dependencies, so a
body that is not JSON (or not UTF-8) used to be answered before the permission check — 422
with an odd ``loc`` for bad syntax, an undocumented ``400 http_400`` for bad bytes — while
every other bad body is answered after it. Every resource router uses :class:`StrideRoute`:
its request parses leniently, putting a :class:`MalformedJson` in place of the body, which
fails the body's validation like any other wrong body — after authentication and the route's
rule — and :mod:`gateway.problems` answers it with **400** ``malformed_json``. The order is
the same for every route: 401, 403, 404 (the object), then 400 / 422 (the body).

A model whose fields are all optional would still accept the stand-in (FastAPI validates
bodies ``from_attributes``, and an object without the fields reads as "none given"), so the
route's endpoint is wrapped too: it refuses to run when the request's body was malformed.
The wrapper runs after the dependencies (the permission check), before the endpoint's work.

**405.** Starlette answers a method a path does not have with the methods of the first route
whose path matched, so ``DELETE /cycles`` listed ``POST`` but not ``GET``.
:func:`method_not_allowed` lists the methods of every route serving the path.

**Matching.** FastAPI finds a request's route by trying every route of every included
router in turn (a regular expression each), once to choose and again to handle: ~70 µs of
the gateway's CPU for a check-in, ~350 µs for a monthly report, before any work. Every
resource router is a :class:`ResourceRouter`, which turns away at once a path under
:data:`API_PREFIX` whose first segment none of its routes has.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import Scope

from gateway.problems import MalformedJson, ProblemError, request_problem
from gateway.security import iter_routes

# The current request's body when it was not JSON (set by the lenient parser).
_MALFORMED: ContextVar[MalformedJson | None] = ContextVar("malformed_json", default=None)


class _LenientJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json: Any = json.loads(body)
            except UnicodeDecodeError:
                self._json = MalformedJson("the body is not UTF-8")
            except json.JSONDecodeError as err:
                self._json = MalformedJson(f"{err.msg} at position {err.pos}")
            except ValueError as err:  # e.g. an integer longer than Python converts
                self._json = MalformedJson(str(err))
            if isinstance(self._json, MalformedJson):
                _MALFORMED.set(self._json)
        return self._json


def _refusing_malformed(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, refusing to run for a malformed body (same signature for FastAPI)."""

    def refuse() -> None:
        malformed = _MALFORMED.get()
        if malformed is not None:
            raise ProblemError(
                400, "malformed_json", f"The request body is not JSON: {malformed.reason}."
            )

    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            refuse()
            return await endpoint(*args, **kwargs)

        return run_async

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        refuse()
        return endpoint(*args, **kwargs)

    return run


API_PREFIX = "/api/v1"


def _head(path: str) -> str:
    """A path's first segment: "key-results" of "/key-results/{id}/check-ins"."""
    return path.lstrip("/").partition("/")[0]


def _route_heads(routes: list[BaseRoute]) -> frozenset[str] | None:
    """The first segments of ``routes``' paths, or None when one of them starts with a
    path parameter (then any path may be theirs)."""
    heads = {_head(getattr(route, "path", "{}")) for route in routes}
    return None if any("{" in head for head in heads) else frozenset(heads)


class ResourceRouter(APIRouter):
    """A resource's router, included under :data:`API_PREFIX`: a path there whose first
    segment none of its routes has is no match, without trying each route's pattern."""

    _heads: frozenset[str] | None = None
    _heads_of = -1  # len(self.routes) when _heads was taken (routes are only appended)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if len(self.routes) != self._heads_of:
            self._heads, self._heads_of = _route_heads(self.routes), len(self.routes)
        path: str = scope["path"]
        if (
            self._heads is not None
            and path.startswith(API_PREFIX + "/")
            and _head(path[len(API_PREFIX) :]) not in self._heads
        ):
            return Match.NONE, {}
        return super().matches(scope)


class StrideRoute(APIRoute):
    """Every resource route: reads its JSON body with :class:`_LenientJsonRequest`, and its
    endpoint does not run for a malformed one."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _refusing_malformed(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def app(request: Request) -> Response:
            token = _MALFORMED.set(None)
            try:
                return await handler(_LenientJsonRequest(request.scope, request.receive))
            finally:
                _MALFORMED.reset(token)

        return app


def _path_patterns(request: Request) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    patterns: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        request.app.state, "path_patterns", None
    )
    if patterns is None:
        patterns = [
            (compile_path(info.path)[0], info.methods)
            for info in iter_routes(request.app)
            if info.methods
        ]
        request.app.state.path_patterns = patterns
    return patterns


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, sorted."""
    path = request.url.path
    return sorted(
        {m for regex, methods in _path_patterns(request) if regex.match(path) for m in methods}
    )


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 ``method_not_allowed`` with ``Allow`` naming all of the path's methods."""
    assert isinstance(exc, StarletteHTTPException)
    allow = ", ".join(allowed_methods(request))
    response = request_problem(
        request, 405, "method_not_allowed", f"{request.method} is not allowed here; use {allow}."
    )
    response.headers["Allow"] = allow
    return response
