"""The shared shape of a Stride gRPC service process.

Every service does the same at start: logging and tracing, its database (migrations applied),
NATS JetStream (streams ensured), the outbox relay, then its gRPC API with health and
reflection. A service only supplies its migrations folder, outbox table and a ``setup``
coroutine that registers its servicer. ``server.py`` of each service is a few lines.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
import structlog
from nats.aio.client import Client as NatsClient
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common import db
from services.common import nats as stride_nats
from services.common.grpc_server import GrpcServer
from services.common.outbox import OutboxRelay
from services.common.settings import SERVICE_PORTS, ServiceSettings
from services.common.tasks import cancel_and_wait

log = structlog.get_logger(__name__)


@dataclass
class ServiceContext:
    """What a service's setup gets to build its servicer from."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Call after committing a transaction that added outbox rows.
    outbox_committed: Callable[[], None]
    nats: NatsClient
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Setup = Callable[[ServiceContext, grpc.aio.Server], Awaitable[None]]


class ServiceRuntime:
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        migrations: Path,
        outbox: Table,
        service_names: Sequence[str],
        setup: Setup,
    ) -> None:
        self.name = name
        self.settings = settings
        self._migrations = migrations
        self._outbox = outbox
        self._service_names = service_names
        self._setup = setup
        self.engine: AsyncEngine | None = None
        self.nc: NatsClient | None = None
        self.relay: OutboxRelay | None = None
        self.grpc: GrpcServer | None = None
        self.port = 0
        self._relay_task: asyncio.Task[None] | None = None
        self._metrics_task: asyncio.Task[None] | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self._ctx: ServiceContext | None = None

    async def start(self) -> None:
        s = self.settings
        self.engine = db.create_engine(s, self.name)
        await db.migrate(self.engine, db.schema_name(s, self.name), self._migrations)
        sessions = db.session_factory(self.engine)
        self.nc = await stride_nats.connect(s.nats_url, name=f"stride-{self.name}")
        js = self.nc.jetstream()
        await stride_nats.ensure_streams(js, replicas=s.nats_stream_replicas)
        self.relay = OutboxRelay(
            sessions,
            self._outbox,
            js,
            poll_interval=s.outbox_poll_interval,
            min_interval=s.outbox_min_interval,
            lock_rows=db.is_postgres(self.engine),
            service=self.name,
        )
        relay = self.relay
        self._ctx = ServiceContext(
            name=self.name,
            settings=s,
            engine=self.engine,
            sessions=sessions,
            outbox_committed=relay.wake if s.outbox_relay else (lambda: None),
            nats=self.nc,
        )
        ctx = self._ctx
        port = s.grpc_port or SERVICE_PORTS[self.name]

        # The service's own servicers are added by its (async) setup before the server starts.
        self.grpc = GrpcServer(
            lambda _server: None,
            self._service_names,
            s.grpc_host,
            port,
            max_message_bytes=s.grpc_max_message_bytes,
        )
        await self._setup(ctx, self.grpc.server)
        self.port = self.grpc.port
        if s.outbox_relay:
            self._relay_task = asyncio.create_task(relay.run(), name=f"{self.name}-outbox-relay")
        if s.outbox_relay and s.outbox_keep_published_hours > 0:
            self._prune_task = asyncio.create_task(
                relay.prune_forever(
                    timedelta(hours=s.outbox_keep_published_hours), s.outbox_prune_interval
                ),
                name=f"{self.name}-outbox-prune",
            )
        if s.outbox_metrics_interval > 0:
            self._metrics_task = asyncio.create_task(
                relay.poll_metrics(s.outbox_metrics_interval), name=f"{self.name}-outbox-metrics"
            )
        await self.grpc.start()
        log.info("service started", service=self.name, port=self.port)

    async def stop(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop()
        if self._relay_task is not None:
            await cancel_and_wait(self._relay_task)
        for task in (self._metrics_task, self._prune_task):
            if task is not None:
                await cancel_and_wait(task)
        if self._ctx is not None:
            for close in reversed(self._ctx.closers):
                await close()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain()
        if self.engine is not None:
            await self.engine.dispose()
        log.info("service stopped", service=self.name)

    async def serve(self) -> None:
        """Run until cancelled, then shut down gracefully."""
        try:
            await self.start()
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.stop())
