"""Goals service process: ``stride serve goals``."""

from __future__ import annotations

from pathlib import Path

import grpc

from services.common.runtime import ServiceContext, ServiceRuntime
from services.common.settings import ServiceSettings
from services.goals.identity_client import IdentityClient
from services.goals.models import OUTBOX
from services.goals.servicer import GoalsServicer
from stride.goals.v1 import goals_pb2, goals_pb2_grpc

SERVICE_NAME = goals_pb2.DESCRIPTOR.services_by_name["GoalsService"].full_name


async def _setup(ctx: ServiceContext, server: grpc.aio.Server) -> None:
    identity = IdentityClient(
        ctx.settings.identity_addr, max_message_bytes=ctx.settings.grpc_max_message_bytes
    )
    ctx.closers.append(identity.close)
    goals_pb2_grpc.add_GoalsServiceServicer_to_server(GoalsServicer(ctx, identity), server)


def runtime(settings: ServiceSettings) -> ServiceRuntime:
    return ServiceRuntime(
        "goals",
        settings,
        migrations=Path(__file__).parent / "migrations",
        outbox=OUTBOX,
        service_names=[SERVICE_NAME],
        setup=_setup,
    )


async def serve(settings: ServiceSettings) -> None:
    await runtime(settings).serve()
