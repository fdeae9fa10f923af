"""The gateway's FastAPI application: ``create_app(settings, deps)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from opentelemetry.instrumentation import fastapi as otel_fastapi
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.types import Scope

from gateway import openapi
from gateway.body_limit import BodyLimitMiddleware, BodyLimits, bulk_routes
from gateway.bootstrap import GatewayDeps, build_deps
from gateway.middleware import RequestIdMiddleware
from gateway.problems import install_handlers
from gateway.routers import API_ROUTERS, health
from gateway.routes import API_PREFIX, method_not_allowed
from gateway.security import ApiKeyCache, Authenticator, iter_routes
from gateway.sign_in_throttle import SignInThrottle
from gateway.tokens import access_tokens
from gateway.web import install as install_web
from services.common.settings import GatewaySettings
from services.common.telemetry import recording

log = structlog.get_logger(__name__)

OPENAPI_URL = f"{API_PREFIX}/openapi.json"
DOCS_URL = f"{API_PREFIX}/docs"
# Routes FastAPI adds itself (the API description and its viewer): public, no rule object.
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
PUBLIC_DOC_ROUTES = frozenset({OPENAPI_URL, DOCS_URL, OAUTH2_REDIRECT_URL})

_route_span_details = otel_fastapi._get_default_span_details


def _span_details(scope: Scope) -> tuple[str, dict[str, str]]:
    """The request span's name and attributes. The instrumentation finds the route template
    (``http.route``) by matching the request against every route, before the router matches
    it again (~6 % of the gateway's CPU per check-in); that is done only when spans or metrics
    are recorded, else the span (which still carries the trace context) is named after the
    method alone and nobody sees it."""
    if recording():
        return _route_span_details(scope)
    return str(scope.get("method") or "HTTP"), {}


# The instrumentation reads this module global when it builds the app's middleware stack.
otel_fastapi._get_default_span_details = _span_details


def create_app(settings: GatewaySettings, deps: GatewayDeps | None = None) -> FastAPI:
    """The gateway app.

    Without ``deps`` the lifespan builds the real dependencies from ``settings`` and closes
    them at shutdown. With ``deps`` (tests, embedding) they are used as given, are available
    without running the lifespan, and stay owned by the caller.

    Raises :class:`gateway.tokens.ConfigurationError` when the JWT secret is unusable.
    """
    authenticator = Authenticator(access_tokens(settings), ApiKeyCache(settings.api_key_cache_ttl))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if deps is not None:
            yield
            return
        built = await build_deps(settings)
        app.state.deps = built
        log.info(
            "gateway dependencies ready",
            identity=settings.identity_addr,
            goals=settings.goals_addr,
            temporal=settings.temporal_address,
            nats=settings.nats_url,
        )
        try:
            yield
        finally:
            await built.aclose()
            app.state.deps = None

    app = FastAPI(
        title="Stride API",
        version="1",
        description="OKRs, weekly check-ins and escalations. Errors are RFC 9457 problem+json "
        "with a stable `code`.",
        openapi_url=OPENAPI_URL,
        docs_url=DOCS_URL,
        swagger_ui_oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        redoc_url=None,
        lifespan=lifespan,
        # Traces and metrics come from opentelemetry-instrumentation-fastapi (below), as they
        # did before FastAPI had its own: its native telemetry would add a second layer
        # (operation spans for dependencies, endpoint and serialization) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.deps = deps
    app.state.settings = settings
    app.state.auth = authenticator
    app.state.sign_in_throttle = SignInThrottle(settings.sign_in_client_limit)
    install_handlers(app)
    # Any method a path does not have: 405 with every method it has in Allow.
    app.add_exception_handler(405, method_not_allowed)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    # The web app's pages (outside /api/v1 and the OpenAPI document).
    install_web(app)
    # Outermost first: the request id, then the body limit (before routing and sign-in).
    limits = BodyLimits(
        default=settings.max_body_bytes,
        bulk=settings.max_bulk_body_bytes,
        bulk_routes=tuple(bulk_routes((r.path, r.methods, r.route) for r in iter_routes(app))),
    )
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(RequestIdMiddleware)
    # Always on, so that the trace context reaches the services, their logs and audit entries
    # (with no exporter the spans are not recorded). No spans for each ASGI send and receive:
    # they only said "the body was read" and "the response was written" (~7 % of the
    # gateway's CPU per check-in).
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"]
    )
    openapi.install(app)
    return app
