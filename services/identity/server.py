"""Identity service process: ``stride serve identity``."""

from __future__ import annotations

from pathlib import Path

import grpc

from services.common.runtime import ServiceContext, ServiceRuntime
from services.common.settings import ServiceSettings
from services.identity.audit_service import AuditAppender, AuditServicer
from services.identity.auth_service import AuthServicer
from services.identity.inbox.servicer import InboxServicer
from services.identity.models import OUTBOX
from services.identity.servicer import IdentityServicer
from services.identity.sync.servicer import OrgSyncServicer
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from stride.identity.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    inbox_pb2,
    inbox_pb2_grpc,
    org_sync_pb2,
    org_sync_pb2_grpc,
)

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name
AUDIT_SERVICE_NAME = audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name
AUTH_SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
INBOX_SERVICE_NAME = inbox_pb2.DESCRIPTOR.services_by_name["InboxService"].full_name
ORG_SYNC_SERVICE_NAME = org_sync_pb2.DESCRIPTOR.services_by_name["OrgSyncService"].full_name


async def _setup(ctx: ServiceContext, server: grpc.aio.Server) -> None:
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(ctx), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(
        AuditServicer(ctx.sessions, ctx.outbox_committed), server
    )
    auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(ctx), server)
    org_sync_pb2_grpc.add_OrgSyncServiceServicer_to_server(OrgSyncServicer(ctx), server)
    inbox_pb2_grpc.add_InboxServiceServicer_to_server(InboxServicer(ctx), server)
    appender = AuditAppender(ctx.nats, ctx.sessions)
    appender.start()
    ctx.closers.append(appender.stop)


def runtime(settings: ServiceSettings) -> ServiceRuntime:
    return ServiceRuntime(
        "identity",
        settings,
        migrations=Path(__file__).parent / "migrations",
        outbox=OUTBOX,
        service_names=[
            SERVICE_NAME,
            AUDIT_SERVICE_NAME,
            AUTH_SERVICE_NAME,
            ORG_SYNC_SERVICE_NAME,
            INBOX_SERVICE_NAME,
        ],
        setup=_setup,
    )


async def serve(settings: ServiceSettings) -> None:
    await runtime(settings).serve()
