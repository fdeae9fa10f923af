"""grpc.aio server bootstrap: health, reflection, tracing, metrics, domain errors, shutdown.

Errors: a :class:`DomainError` becomes its status plus the ``stride-error-code`` trailer; a
database that cannot be reached (:func:`services.common.db.unreachable`) becomes
``UNAVAILABLE`` with code ``database_unavailable`` (the gateway answers 503 + Retry-After), so
a caller knows to retry; a text the database refuses (NUL, an unpaired surrogate:
:func:`services.common.db.unstorable_text`) becomes ``INVALID_ARGUMENT`` with code
``invalid_character``; anything else stays an internal error (``UNKNOWN``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection

from services.common import metrics
from services.common.channels import MAX_MESSAGE_BYTES, server_options
from services.common.db import unreachable, unstorable_text
from services.common.errors import ERROR_CODE_KEY, DomainError
from services.common.request_context import ACTOR_KEY, CURRENT_REQUEST, REQUEST_ID_KEY, RequestInfo

log = structlog.get_logger(__name__)

DATABASE_UNAVAILABLE = "database_unavailable"
INVALID_CHARACTER = "invalid_character"


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns :class:`DomainError` into its gRPC status plus the ``stride-error-code`` trailer,
    and makes the caller's actor and request id (metadata) available to the handler."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            metadata = dict(context.invocation_metadata() or ())
            token = CURRENT_REQUEST.set(
                RequestInfo(
                    actor=str(metadata.get(ACTOR_KEY) or "system"),
                    request_id=str(metadata.get(REQUEST_ID_KEY) or ""),
                )
            )
            try:
                return await inner(request, context)  # type: ignore[arg-type]
            except DomainError as exc:
                context.set_trailing_metadata(exc.trailers())
                await context.abort(exc.status, exc.message)
            except Exception as exc:
                if unstorable_text(exc):
                    log.warning(
                        "text refused by the database",
                        method=handler_call_details.method,
                        error=repr(exc),
                    )
                    context.set_trailing_metadata(((ERROR_CODE_KEY, INVALID_CHARACTER),))
                    await context.abort(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "A text holds a character that cannot be stored (NUL or an unpaired "
                        "surrogate).",
                    )
                if not unreachable(exc):
                    raise
                log.warning(
                    "database unavailable",
                    method=handler_call_details.method,
                    error=repr(exc),
                )
                context.set_trailing_metadata(((ERROR_CODE_KEY, DATABASE_UNAVAILABLE),))
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE, "The database is unavailable; retry later."
                )
            finally:
                CURRENT_REQUEST.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Records ``rpc.server.duration`` (ms) per method and status code of every unary call."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            began = time.perf_counter()
            failed = False
            try:
                return await inner(request, context)  # type: ignore[arg-type]
            except BaseException:
                failed = True
                raise
            finally:
                code = _code_name(context.code(), failed)
                metrics.rpc_served(method, code, (time.perf_counter() - began) * 1000)

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _code_name(code: Any, failed: bool) -> str:
    """The status name of a finished call (``context.code()`` may be an enum, an int or None)."""
    name = ""
    if isinstance(code, grpc.StatusCode):
        name = code.name
    else:
        name = next((s.name for s in grpc.StatusCode if s.value[0] == code), "")
    if failed and name in ("", "OK"):
        return "UNKNOWN"  # an exception the handler did not turn into a status
    return name or "OK"


def _interceptors() -> list[grpc.aio.ServerInterceptor]:
    interceptors: list[grpc.aio.ServerInterceptor] = []
    try:
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        interceptors.append(aio_server_interceptor())
    except Exception:  # pragma: no cover - instrumentation is a declared dependency
        log.warning("gRPC tracing interceptor unavailable")
    interceptors.append(MetricsInterceptor())
    interceptors.append(DomainErrorInterceptor())
    return interceptors


class GrpcServer:
    """A started grpc.aio server with health and reflection for ``service_names``."""

    def __init__(
        self,
        register: Callable[[grpc.aio.Server], None],
        service_names: Sequence[str],
        host: str,
        port: int,
        *,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.server = grpc.aio.server(
            interceptors=_interceptors(), options=server_options(max_message_bytes)
        )
        register(self.server)
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names = list(service_names)
        reflection.enable_server_reflection(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {host}:{port}")

    async def start(self) -> None:
        await self.server.start()
        for name in ["", *self._service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 5.0) -> None:
        """Report NOT_SERVING, then let in-flight calls finish for ``grace`` seconds."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
