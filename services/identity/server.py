"""Identity service process: ``stride serve identity``."""

from __future__ import annotations

from pathlib import Path

import grpc

from services.common.runtime import ServiceContext, ServiceRuntime
from services.common.settings import ServiceSettings
from services.identity.models import OUTBOX
from services.identity.servicer import IdentityServicer
from stride.identity.v1 import identity_pb2, identity_pb2_grpc

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name


async def _setup(ctx: ServiceContext, server: grpc.aio.Server) -> None:
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(ctx), server)


def runtime(settings: ServiceSettings) -> ServiceRuntime:
    return ServiceRuntime(
        "identity",
        settings,
        migrations=Path(__file__).parent / "migrations",
        outbox=OUTBOX,
        service_names=[SERVICE_NAME],
        setup=_setup,
    )


async def serve(settings: ServiceSettings) -> None:
    await runtime(settings).serve()
