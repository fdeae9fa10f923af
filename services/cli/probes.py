"""Health probes of the processes a :class:`services.cli.supervisor.Supervisor` runs: an async
callable that answers True once the process serves (and never raises for "not yet")."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.channels import channel


class HealthCheck(Protocol):
    """An async probe: True when the process serves. Must not raise for "not yet"."""

    async def __call__(self) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class TcpCheck:
    host: str
    port: int

    async def __call__(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class GrpcHealthCheck:
    """grpc.health.v1 ``Check``; ``service`` empty means the whole server."""

    target: str
    service: str = ""

    async def __call__(self) -> bool:
        try:
            async with channel(self.target) as ch:
                stub = health_pb2_grpc.HealthStub(ch)
                resp = await stub.Check(
                    health_pb2.HealthCheckRequest(service=self.service), timeout=1.0
                )
        except (grpc.aio.AioRpcError, OSError):
            return False
        return bool(resp.status == health_pb2.HealthCheckResponse.SERVING)

    def describe(self) -> str:
        return f"grpc health {self.target}"


@dataclass(frozen=True)
class HttpCheck:
    url: str
    status: int = 200

    async def __call__(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                resp = await client.get(self.url)
        except httpx.HTTPError:
            return False
        return resp.status_code == self.status

    def describe(self) -> str:
        return f"GET {self.url} → {self.status}"
