"""Telemetry service process: ``stride serve telemetry``.

Besides its gRPC API the process runs the JetStream ingest consumer (``telemetry.ingest.>``),
the push scheduler and the staleness check (services/telemetry/ingest.py, pusher.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import grpc

from services.common.runtime import ServiceContext, ServiceRuntime
from services.common.settings import TelemetrySettings
from services.common.uow import Units
from services.telemetry.clients import Goals
from services.telemetry.domain.samples import Limits
from services.telemetry.domain.windows import parse_shifts
from services.telemetry.events import EVENTS
from services.telemetry.handlers.shared import Deps
from services.telemetry.ingest import IngestConsumer
from services.telemetry.models import OUTBOX
from services.telemetry.pusher import Pusher
from services.telemetry.repository import TelemetryRepository
from services.telemetry.servicer import TelemetryServicer
from stride.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc

SERVICE_NAMES = [telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name]


def runtime(settings: TelemetrySettings) -> ServiceRuntime:
    async def setup(ctx: ServiceContext, server: grpc.aio.Server) -> None:
        s = settings
        goals = Goals(s.goals_addr, max_message_bytes=s.grpc_max_message_bytes)
        js = ctx.nats.jetstream()

        async def publish(subject: str, payload: bytes, msg_id: str) -> None:
            await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})

        deps = Deps(
            Units(ctx.sessions, TelemetryRepository, EVENTS, ctx.outbox_committed),
            goals,
            s.time_zone,
            shifts=parse_shifts(s.telemetry_shifts),
            limits=Limits(
                max_future=timedelta(seconds=s.telemetry_max_future_seconds),
                max_age=timedelta(days=s.telemetry_max_age_days),
            ),
            publish=publish,
        )
        pusher = Pusher(
            deps,
            interval=s.telemetry_push_interval,
            staleness_interval=s.telemetry_staleness_interval,
        )
        deps.wake_pusher = pusher.wake
        telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server(TelemetryServicer(deps), server)
        pusher.start()
        ctx.closers += [goals.close, pusher.stop]
        if s.telemetry_ingest:
            consumer = IngestConsumer(
                deps, js, durable=s.telemetry_consumer, batch=s.telemetry_batch_size
            )
            await consumer.start()
            ctx.closers.append(consumer.stop)

    return ServiceRuntime(
        "telemetry",
        settings,
        migrations=Path(__file__).parent / "migrations",
        outbox=OUTBOX,
        service_names=SERVICE_NAMES,
        setup=setup,
    )


async def serve(settings: TelemetrySettings) -> None:
    await runtime(settings).serve()
