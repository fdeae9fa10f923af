"""The worker process's parts beside a gateway stack: every real activity (bound to the
stack's services) on a private task queue, and the event bridge feeding it from NATS.

Used by the tests that follow an event through Temporal and back (test_approval_flow.py,
test_backfill.py). Give the bridge a private nats-server per module: its durable consumer
reads the stream from the start, so it must not see other tests' events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from temporalio.client import Client

from services.common.settings import WorkerSettings
from services.worker.bridge import EventBridge, GoalsApprovals
from services.worker.worker import activities_for, build_worker
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack

NO_QUIET_HOURS = identity_pb2.NotificationPolicy(
    time_zone="Asia/Shanghai", quiet_start="00:00", quiet_end="00:00"
)


@asynccontextmanager
async def running_worker(
    stack: GatewayStack, nats_url: str, client: Client, *, consumer: str, smtp_port: int = 0
) -> AsyncIterator[str]:
    """Run the worker's activities and the bridge until the block ends; yields the task queue."""
    settings = WorkerSettings(
        identity_addr=stack.settings.identity_addr,
        goals_addr=stack.settings.goals_addr,
        feedback_addr=stack.settings.feedback_addr,
        smtp_host="127.0.0.1" if smtp_port else "",
        smtp_port=smtp_port or 25,
    )
    task_queue = f"{consumer}-{uuid.uuid4()}"
    # No quiet hours: these tests wait for mail in real time, at any hour of the day.
    await stack.admin_grpc.identity.PutNotificationPolicy(NO_QUIET_HOURS)
    nc = await nats.connect(nats_url)
    approvals_in_goals = GoalsApprovals(stack.settings.goals_addr)
    bridge = EventBridge(
        nc.jetstream(),
        client,
        task_queue=task_queue,
        consumer=consumer,
        fetch_timeout=0.2,
        approval_pending=approvals_in_goals.pending,
    )
    await bridge.setup()
    async with build_worker(client, task_queue, activities=activities_for(settings)):
        running = asyncio.create_task(bridge.run())
        try:
            yield task_queue
        finally:
            bridge.stop()
            await asyncio.wait_for(running, 30)
            await nc.drain()
            await approvals_in_goals.close()
