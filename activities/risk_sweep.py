"""The weekly risk sweep's activity: one batch through goals ``SweepRisk``
(:mod:`workflows.risk_sweep`)."""

from __future__ import annotations

import grpc
from temporalio import activity

from activities.clients import channel, metadata, to_application_error, workflow_actor
from services.common.settings import WorkerSettings
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from workflows.risk_sweep import (
    ERROR_REFUSED,
    SWEEP_ACTIVITY,
    SweepBatchInput,
    SweepBatchResult,
)

# One batch is up to 1,000 key results in one transaction, each with an outbox event.
BATCH_TIMEOUT_SECONDS = 90.0


class RiskSweepActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep_batch(self, input: SweepBatchInput) -> SweepBatchResult:
        async with channel(self.settings.goals_addr) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            try:
                resp = await goals.SweepRisk(
                    goals_pb2.SweepRiskRequest(
                        week=input.week,
                        batch_size=input.batch_size,
                        page_token=input.page_token,
                    ),
                    timeout=BATCH_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err
        return SweepBatchResult(
            examined=resp.examined,
            swept=resp.swept,
            at_risk=resp.at_risk,
            behind=resp.behind,
            on_track=resp.on_track,
            skipped=resp.skipped,
            already_swept=resp.already_swept,
            next_page_token=resp.next_page_token,
        )
