"""The worker's HTTP health endpoint (``STRIDE_HEALTH_PORT``; Kubernetes probes use it).

- ``GET /healthz``: 200 while the process' event loop answers (liveness);
- ``GET /readyz``: 200 when the worker is connected to Temporal (a health check answered),
  connected to NATS, and the parts it runs are going — its Temporal worker polling its task
  queue, the event bridge fetching, the integrations worker polling its own; otherwise 503
  with what is missing. Both answer JSON.

The integrations worker (``stride worker --queue integrations``) serves the same endpoint
with the parts it runs.

Served by starlette on uvicorn, embedded in the worker's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.common.http_server import BackgroundServer

log = structlog.get_logger(__name__)

# A readiness check returns "" when fine, else why not.
Check = Callable[[], Awaitable[str]]

# An idle keep-alive connection is closed after this long.
READ_TIMEOUT_SECONDS = 5
CHECK_TIMEOUT_SECONDS = 2.0
# The bridge fetches with a 1 s timeout; no fetch for this long means it is stuck.
BRIDGE_STALE_SECONDS = 60.0


@dataclass
class WorkerHealth:
    """What the worker process has brought up so far; ``serve`` fills it in as it starts."""

    temporal: Any = None  # temporalio.client.Client
    nats: Any = None  # nats.aio.client.Client
    worker: Any = None  # temporalio.worker.Worker
    bridge: Any = None  # services.worker.bridge.EventBridge
    integrations: Any = None  # temporalio.worker.Worker on the integrations task queue
    # What this process runs besides its Temporal and NATS connections.
    parts: tuple[str, ...] = ("worker", "bridge")

    async def _temporal(self) -> str:
        if self.temporal is None:
            return "not connected"
        try:
            ok = await self.temporal.service_client.check_health(
                timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
            )
        except Exception as err:
            return f"health check failed: {err}"
        return "" if ok else "not serving"

    async def _nats(self) -> str:
        if self.nats is None:
            return "not connected"
        return "" if self.nats.is_connected else "disconnected"

    @staticmethod
    def _polling(worker: Any) -> str:
        if worker is None:
            return "not started"
        if worker.is_shutdown or not worker.is_running:
            return "not polling"
        return ""

    async def _worker(self) -> str:
        return self._polling(self.worker)

    async def _integrations(self) -> str:
        return self._polling(self.integrations)

    async def _bridge(self) -> str:
        if self.bridge is None:
            return "not started"
        last = self.bridge.last_fetch
        if last is None:
            return "not fetching yet"
        idle = asyncio.get_running_loop().time() - last
        if idle > BRIDGE_STALE_SECONDS:
            return f"no fetch for {idle:.0f} s"
        return ""

    async def readiness(self) -> dict[str, str]:
        """name → "ok" or the reason it is not."""
        checks: dict[str, Check] = {"temporal": self._temporal, "nats": self._nats}
        for part in self.parts:
            checks[part] = getattr(self, f"_{part}")
        results = await asyncio.gather(*(c() for c in checks.values()))
        return {name: (r or "ok") for name, r in zip(checks, results, strict=True)}


def health_app(health: WorkerHealth) -> Starlette:
    """``/healthz`` and ``/readyz`` (GET and HEAD); anything else answers JSON 404 / 405."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        checks = await health.readiness()
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def problem(_request: Request, exc: Exception) -> JSONResponse:
        status = getattr(exc, "status_code", 500)
        names = {404: "not_found", 405: "method_not_allowed"}
        return JSONResponse({"status": names.get(status, "error")}, status_code=status)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
        ],
        exception_handlers={HTTPException: problem},
    )


class HealthServer(BackgroundServer):
    """Serves :func:`health_app` for a :class:`WorkerHealth` on ``host:port``."""

    def __init__(self, health: WorkerHealth, host: str, port: int) -> None:
        super().__init__(
            uvicorn.Config(
                health_app(health),
                host=host,
                port=port,
                lifespan="off",
                log_config=None,  # the process' logging (services.common.logging)
                access_log=False,  # probes every few seconds: not worth a line each
                timeout_keep_alive=READ_TIMEOUT_SECONDS,
            )
        )
        self.health = health

    async def start(self) -> None:
        await super().start()
        log.info("worker health endpoint listening", host=self.server.config.host, port=self.port)


@asynccontextmanager
async def health_endpoint(health: WorkerHealth, host: str, port: int) -> AsyncIterator[None]:
    """Serve ``/healthz`` and ``/readyz`` for ``health`` on ``host:port`` meanwhile (not at
    all when ``port`` is 0)."""
    if not port:
        yield
        return
    server = HealthServer(health, host, port)
    await server.start()
    try:
        yield
    finally:
        await asyncio.shield(server.stop())
