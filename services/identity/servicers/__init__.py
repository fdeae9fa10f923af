"""The five gRPC APIs of the identity process, and the one place they are wired.

Each module is a thin adapter for one gRPC service (protobuf in → handler → protobuf out):
``identity`` (IdentityService), ``auth`` (AuthService), ``audit`` (AuditService), ``inbox``
(InboxService), ``org_sync`` (OrgSyncService). :func:`setup` builds the handlers on the
runtime's context and registers the servicers and the audit chain appender.
"""

from __future__ import annotations

import grpc

from services.common.runtime import ServiceContext
from services.identity.audit_appender import AuditAppender
from services.identity.audit_log import AuditRepository
from services.identity.auth_repository import AuthRepository
from services.identity.channels.repository import ChannelsRepository
from services.identity.handlers import units_for
from services.identity.handlers.api_keys import ApiKeys
from services.identity.handlers.audit import AuditTrail
from services.identity.handlers.auth import SignIn
from services.identity.handlers.channels import Channels
from services.identity.handlers.departments import Departments
from services.identity.handlers.employees import Employees
from services.identity.handlers.inbox import Inbox
from services.identity.handlers.invitation_jobs import InvitationJobs
from services.identity.handlers.invitations import Invitations
from services.identity.handlers.org_sync import OrgSync
from services.identity.handlers.pins import Pins
from services.identity.inbox.repository import InboxRepository
from services.identity.passwords import Passwords
from services.identity.repository import IdentityRepository
from services.identity.servicers.audit import AuditServicer
from services.identity.servicers.auth import AuthServicer
from services.identity.servicers.identity import IdentityServicer
from services.identity.servicers.inbox import InboxServicer
from services.identity.servicers.org_sync import OrgSyncServicer
from services.identity.sync.repository import OrgSyncRepository
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

SERVICE_NAMES = [
    identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    org_sync_pb2.DESCRIPTOR.services_by_name["OrgSyncService"].full_name,
    inbox_pb2.DESCRIPTOR.services_by_name["InboxService"].full_name,
]


async def setup(ctx: ServiceContext, server: grpc.aio.Server) -> None:
    org = units_for(ctx, IdentityRepository)
    auth = units_for(ctx, AuthRepository)
    settings = ctx.settings
    passwords = Passwords(
        settings.password_hash_profile,
        workers=settings.password_hash_workers,
        queue=settings.sign_in_queue,
    )
    ctx.closers.append(passwords.close)
    trail = AuditTrail(units_for(ctx, AuditRepository))
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(
        IdentityServicer(
            Departments(org),
            Employees(org),
            Channels(
                units_for(ctx, ChannelsRepository),
                http_hosts=frozenset(h for h in settings.robot_http_hosts.split(",") if h),
            ),
        ),
        server,
    )
    auth_pb2_grpc.add_AuthServiceServicer_to_server(
        AuthServicer(
            SignIn(auth, passwords),
            ApiKeys(auth),
            Invitations(auth, passwords),
            InvitationJobs(auth, passwords),
            Pins(auth, passwords),
        ),
        server,
    )
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(trail), server)
    inbox_pb2_grpc.add_InboxServiceServicer_to_server(
        InboxServicer(Inbox(units_for(ctx, InboxRepository))), server
    )
    org_sync_pb2_grpc.add_OrgSyncServiceServicer_to_server(
        OrgSyncServicer(
            OrgSync(
                units_for(ctx, OrgSyncRepository),
                max_deactivation_share=ctx.settings.org_sync_max_deactivation_share,
            )
        ),
        server,
    )
    appender = AuditAppender(ctx.nats, trail, min_interval=ctx.settings.audit_append_min_interval)
    appender.start()
    ctx.closers.append(appender.stop)
