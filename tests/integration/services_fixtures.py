"""Start real service processes' runtimes in-process against real engines."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


@dataclass
class FeedbackStack:
    """identity, goals and feedback running in-process; gRPC channels to each."""

    identity: grpc.aio.Channel
    goals: grpc.aio.Channel
    feedback: grpc.aio.Channel
    runtimes: dict[str, ServiceRuntime]


@asynccontextmanager
async def feedback_stack(
    database_url: str | None, data_dir: Path, nats_url: str, **extra: object
) -> AsyncIterator[FeedbackStack]:
    """The feedback service with the identity and goals services it asks (own schemas); no
    telemetry service unless ``extra`` names its address (``telemetry_addr``)."""
    from services.feedback import server as feedback_server
    from services.goals import server as goals_server
    from services.identity import server as identity_server

    prefix = f"fb{uuid.uuid4().hex[:8]}_"
    identity_rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix, **extra)
    )
    identity_addr = f"127.0.0.1:{identity_rt.settings.grpc_port}"
    goals_rt = goals_server.runtime(
        service_settings(
            database_url, data_dir, nats_url, schema_prefix=prefix, identity_addr=identity_addr
        )
    )
    feedback_rt = feedback_server.runtime(
        service_settings(
            database_url,
            data_dir,
            nats_url,
            schema_prefix=prefix,
            identity_addr=identity_addr,
            goals_addr=f"127.0.0.1:{goals_rt.settings.grpc_port}",
            **{"telemetry_addr": "", **extra},
        )
    )
    async with (
        running(identity_rt) as identity,
        running(goals_rt) as goals,
        running(feedback_rt) as feedback,
    ):
        yield FeedbackStack(
            identity,
            goals,
            feedback,
            {"identity": identity_rt, "goals": goals_rt, "feedback": feedback_rt},
        )


@dataclass
class TelemetryStack:
    """identity, goals and telemetry running in-process; gRPC channels to each."""

    identity: grpc.aio.Channel
    goals: grpc.aio.Channel
    telemetry: grpc.aio.Channel
    runtimes: dict[str, ServiceRuntime]


@asynccontextmanager
async def telemetry_stack(
    database_url: str | None, data_dir: Path, nats_url: str, **extra: object
) -> AsyncIterator[TelemetryStack]:
    """The telemetry service (its own durable ingest consumer: each test reads the stream from
    the start) with the identity and goals services (own schemas). ``extra``: telemetry
    settings (push and staleness intervals...)."""
    from services.common.settings import TelemetrySettings
    from services.goals import server as goals_server
    from services.identity import server as identity_server
    from services.telemetry import server as telemetry_server

    tag = uuid.uuid4().hex[:8]
    prefix = f"tl{tag}_"
    identity_rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    goals_rt = goals_server.runtime(
        service_settings(
            database_url,
            data_dir,
            nats_url,
            schema_prefix=prefix,
            identity_addr=f"127.0.0.1:{identity_rt.settings.grpc_port}",
        )
    )
    telemetry_rt = telemetry_server.runtime(
        TelemetrySettings(
            database_url=database_url,
            data_dir=data_dir,
            nats_url=nats_url,
            grpc_port=free_port(),
            outbox_poll_interval=0.2,
            schema_prefix=prefix,
            goals_addr=f"127.0.0.1:{goals_rt.settings.grpc_port}",
            telemetry_consumer=f"telemetry-{tag}",
            **extra,  # type: ignore[arg-type]
        )
    )
    async with (
        running(identity_rt) as identity,
        running(goals_rt) as goals,
        running(telemetry_rt) as telemetry,
    ):
        yield TelemetryStack(
            identity,
            goals,
            telemetry,
            {"identity": identity_rt, "goals": goals_rt, "telemetry": telemetry_rt},
        )
