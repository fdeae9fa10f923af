"""Goals service process: ``stride serve goals``."""

from __future__ import annotations

from pathlib import Path

import grpc

from services.common.runtime import ServiceContext, ServiceRuntime
from services.common.settings import ServiceSettings
from services.goals.dashboard_feed import CONSUMER, DashboardFeed
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
    servicer = GoalsServicer(ctx, identity)
    goals_pb2_grpc.add_GoalsServiceServicer_to_server(servicer, server)
    # The dashboard read models follow the goals event stream (services/goals/dashboard_feed.py).
    # One durable per database: instances sharing tables share the work (the schema prefix
    # tells test stacks on one NATS apart).
    durable = f"{ctx.settings.schema_prefix}{CONSUMER}".replace(".", "_")
    feed = DashboardFeed(ctx.nats, servicer.deps, durable=durable)
    feed.start()
    ctx.closers.append(feed.stop)


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
