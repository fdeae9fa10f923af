"""Everything the gateway talks to, wired in one place (cosmicpython's ``bootstrap`` idea).

:class:`GatewayDeps` holds the gRPC stubs, the lazily connected Temporal client, the NATS
connection and the readiness checks. :func:`build_deps` makes the real ones from settings;
tests build a ``GatewayDeps`` around fakes and hand it to ``create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import nats
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NatsClient
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client as TemporalClient

from services.common.channels import channel
from services.common.settings import GatewaySettings
from services.common.tasks import cancel_and_wait
from services.common.temporal import connect as connect_temporal
from stride.audit.v1 import audit_pb2_grpc
from stride.feedback.v1 import (
    archive_pb2_grpc,
    feedback_pb2_grpc,
    promotions_pb2_grpc,
    rounds_pb2_grpc,
    talent_pb2_grpc,
)
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import auth_pb2_grpc, identity_pb2_grpc, inbox_pb2_grpc, org_sync_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2_grpc

log = structlog.get_logger(__name__)

# Deadline of every gRPC call the gateway makes on behalf of a request (seconds).
RPC_TIMEOUT = 5.0
# Time each readiness check gets before it counts as failed (seconds).
READY_TIMEOUT = 1.0

ReadinessCheck = Callable[[], Awaitable[None]]
Closer = Callable[[], Awaitable[None]]


class NotReadyError(Exception):
    """A readiness check found its dependency unusable; the message says why (briefly)."""


class TemporalConnector:
    """A Temporal client that connects on first use and retries on the next use if that failed."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[TemporalClient]],
        client: TemporalClient | None = None,
    ) -> None:
        self._connect = connect
        self._client = client
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> TemporalConnector:
        async def connect() -> TemporalClient:
            # The same address, namespace, TLS and API key as the worker; the tracing
            # interceptor carries a request's trace into the workflows it starts or updates.
            return await connect_temporal(
                settings, identity="stride-gateway", connect_timeout=timedelta(seconds=3)
            )

        return cls(connect)

    @classmethod
    def of(cls, client: TemporalClient) -> TemporalConnector:
        """An already connected client (tests, or a process that shares one)."""

        async def connect() -> TemporalClient:
            return client

        return cls(connect, client)

    async def client(self) -> TemporalClient:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._connect()
            return self._client

    async def check(self) -> None:
        client = await self.client()
        # GetSystemInfo is served by the dev server, a cluster and the time-skipping test server.
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=READY_TIMEOUT)
        )


class NatsConnection:
    """A NATS connection made in the background, so the gateway starts while NATS is down."""

    def __init__(self, url: str, name: str = "stride-gateway") -> None:
        self._url = url
        self._name = name
        self.client: NatsClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_error = ""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-nats-connect")

    async def _on_error(self, exc: Exception) -> None:
        # nats-py reports every failed attempt; log each distinct problem once, briefly.
        text = f"{type(exc).__name__}: {exc}"
        if text != self._last_error:
            self._last_error = text
            log.warning("NATS connection problem", url=self._url, error=text)

    async def _on_reconnected(self) -> None:
        self._last_error = ""
        log.info("NATS reconnected", url=self._url)

    async def _run(self) -> None:
        # With max_reconnect_attempts=-1 the first connect keeps trying until it succeeds,
        # and the connection keeps reconnecting for the life of the process.
        self.client = await nats.connect(
            self._url,
            name=self._name,
            connect_timeout=2,
            reconnect_time_wait=1,
            max_reconnect_attempts=-1,
            error_cb=self._on_error,
            reconnected_cb=self._on_reconnected,
        )
        self._last_error = ""
        log.info("NATS connected", url=self._url)

    async def check(self) -> None:
        nc = self.client
        if nc is None or not nc.is_connected:
            raise NotReadyError("not connected")
        await nc.flush(timeout=READY_TIMEOUT)  # type: ignore[arg-type]

    async def close(self) -> None:
        task = self._task
        if task is not None:
            await cancel_and_wait(task, attempts=50, every=0.1)
        if self.client is not None and not self.client.is_closed:
            with contextlib.suppress(Exception):
                await self.client.close()


def grpc_health_check(channel: grpc.aio.Channel, service: str = "") -> ReadinessCheck:
    """``grpc.health.v1.Health/Check`` on ``channel`` ("" = the server as a whole)."""
    stub = health_pb2_grpc.HealthStub(channel)

    async def check() -> None:
        response = await stub.Check(
            health_pb2.HealthCheckRequest(service=service), timeout=READY_TIMEOUT
        )
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
            raise NotReadyError(name.lower())

    return check


@dataclass
class GatewayDeps:
    identity: identity_pb2_grpc.IdentityServiceStub
    goals: goals_pb2_grpc.GoalsServiceStub
    temporal: TemporalConnector
    # name → check; each raises (or times out) when that dependency is not usable.
    readiness: Mapping[str, ReadinessCheck]
    # Also served by the identity process: credentials, the audit trail, the in-app inbox and
    # org synchronisation. Optional so tests that need only identity and goals can leave them out.
    auth: auth_pb2_grpc.AuthServiceStub | None = None
    audit: audit_pb2_grpc.AuditServiceStub | None = None
    inbox: inbox_pb2_grpc.InboxServiceStub | None = None
    org_sync: org_sync_pb2_grpc.OrgSyncServiceStub | None = None
    # The feedback process (continuous feedback, praise, upward feedback, challenges).
    feedback: feedback_pb2_grpc.FeedbackServiceStub | None = None
    # The same process' 360 rounds (templates, rounds, answers, results).
    rounds: rounds_pb2_grpc.RoundServiceStub | None = None
    # The same process' talent suggestions and managers' dimensions.
    talent: talent_pb2_grpc.TalentServiceStub | None = None
    # The same process' promotion reviews.
    promotions: promotions_pb2_grpc.PromotionServiceStub | None = None
    # The same process' performance archive and calibration.
    archive: archive_pb2_grpc.ArchiveServiceStub | None = None
    # The telemetry process (samples posted over HTTP, metrics, bindings, windows).
    telemetry: telemetry_pb2_grpc.TelemetryServiceStub | None = None
    # Where workflows the gateway starts (org-sync/<source>) are picked up.
    task_queue: str = "stride"
    rpc_timeout: float = RPC_TIMEOUT
    ready_timeout: float = READY_TIMEOUT
    # How long a workflow step waits for a workflow the bridge is starting (settings).
    workflow_start_patience: float = 10.0
    closers: list[Closer] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            try:
                await close()
            except Exception:
                log.exception("closing a gateway dependency failed")
        self.closers.clear()


async def build_deps(settings: GatewaySettings) -> GatewayDeps:
    """The real dependencies. Nothing here waits on the network: channels and the Temporal
    client connect on first use, NATS connects in the background."""
    size = settings.grpc_max_message_bytes
    identity_channel = channel(settings.identity_addr, max_message_bytes=size)
    goals_channel = channel(settings.goals_addr, max_message_bytes=size)
    feedback_channel = channel(settings.feedback_addr, max_message_bytes=size)
    telemetry_channel = channel(settings.telemetry_addr, max_message_bytes=size)
    temporal = TemporalConnector.from_settings(settings)
    nats_conn = NatsConnection(settings.nats_url)
    nats_conn.start()

    async def close_channels() -> None:
        await identity_channel.close(grace=None)
        await goals_channel.close(grace=None)
        await feedback_channel.close(grace=None)
        await telemetry_channel.close(grace=None)

    return GatewayDeps(
        identity=identity_pb2_grpc.IdentityServiceStub(identity_channel),
        goals=goals_pb2_grpc.GoalsServiceStub(goals_channel),
        auth=auth_pb2_grpc.AuthServiceStub(identity_channel),
        audit=audit_pb2_grpc.AuditServiceStub(identity_channel),
        inbox=inbox_pb2_grpc.InboxServiceStub(identity_channel),
        org_sync=org_sync_pb2_grpc.OrgSyncServiceStub(identity_channel),
        feedback=feedback_pb2_grpc.FeedbackServiceStub(feedback_channel),
        rounds=rounds_pb2_grpc.RoundServiceStub(feedback_channel),
        talent=talent_pb2_grpc.TalentServiceStub(feedback_channel),
        promotions=promotions_pb2_grpc.PromotionServiceStub(feedback_channel),
        archive=archive_pb2_grpc.ArchiveServiceStub(feedback_channel),
        telemetry=telemetry_pb2_grpc.TelemetryServiceStub(telemetry_channel),
        task_queue=settings.task_queue,
        workflow_start_patience=settings.workflow_start_patience,
        temporal=temporal,
        readiness={
            "identity": grpc_health_check(identity_channel),
            "goals": grpc_health_check(goals_channel),
            "feedback": grpc_health_check(feedback_channel),
            "telemetry": grpc_health_check(telemetry_channel),
            "nats": nats_conn.check,
            "temporal": temporal.check,
        },
        closers=[close_channels, nats_conn.close],
    )
