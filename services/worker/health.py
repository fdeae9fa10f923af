"""The worker's HTTP health endpoint (``STRIDE_HEALTH_PORT``; Kubernetes probes use it).

- ``GET /healthz``: 200 while the process' event loop answers (liveness);
- ``GET /readyz``: 200 when the worker is connected to Temporal (a health check answered),
  connected to NATS, its Temporal worker is polling its task queue and the event bridge is
  fetching; otherwise 503 with what is missing. Both answer JSON.

A few lines of asyncio rather than a web framework: two fixed GET routes, no request body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# A readiness check returns "" when fine, else why not.
Check = Callable[[], Awaitable[str]]

READ_TIMEOUT_SECONDS = 5.0
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

    async def _worker(self) -> str:
        if self.worker is None:
            return "not started"
        if self.worker.is_shutdown or not self.worker.is_running:
            return "not polling"
        return ""

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
        checks: dict[str, Check] = {
            "temporal": self._temporal,
            "nats": self._nats,
            "worker": self._worker,
            "bridge": self._bridge,
        }
        results = await asyncio.gather(*(c() for c in checks.values()))
        return {name: (r or "ok") for name, r in zip(checks, results, strict=True)}


class HealthServer:
    """Serves ``/healthz`` and ``/readyz`` for a :class:`WorkerHealth`."""

    def __init__(self, health: WorkerHealth, host: str, port: int) -> None:
        self.health = health
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("worker health endpoint listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head_only = False
        try:
            status, body, head_only = await asyncio.wait_for(
                self._respond(reader), READ_TIMEOUT_SECONDS
            )
        except (TimeoutError, ValueError, ConnectionError):
            status, body = 400, {"status": "bad_request"}
        payload = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        head = (
            f"HTTP/1.1 {status} {reason.get(status, 'Service Unavailable')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode() + (b"" if head_only else payload))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, Any], bool]:
        """(status, JSON body, whether the body is left out: HEAD)."""
        request_line = (await reader.readline()).decode("latin-1")
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # headers: nothing to read from them
        method, target, _version = request_line.split(" ", 2)
        path = target.split("?", 1)[0]
        head_only = method == "HEAD"
        if path not in ("/healthz", "/readyz"):
            return 404, {"status": "not_found"}, head_only
        if method not in ("GET", "HEAD"):
            return 405, {"status": "method_not_allowed"}, False
        if path == "/healthz":
            return 200, {"status": "ok"}, head_only
        checks = await self.health.readiness()
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return (200 if ready else 503), body, head_only
