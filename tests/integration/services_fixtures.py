"""Start real service processes' runtimes in-process against real engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc

from services.common.binaries import free_port
from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceSettings


def service_settings(
    database_url: str | None, data_dir: Path, nats_url: str, **extra: object
) -> ServiceSettings:
    return ServiceSettings(
        database_url=database_url,
        data_dir=data_dir,
        nats_url=nats_url,
        grpc_port=free_port(),
        outbox_poll_interval=0.2,
        password_hash_profile="CHEAPEST",
        **extra,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def running(rt: ServiceRuntime) -> AsyncIterator[grpc.aio.Channel]:
    await rt.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{rt.port}")
    try:
        yield channel
    finally:
        await channel.close()
        await rt.stop()
