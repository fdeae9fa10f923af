"""The cycle workflow's archive step: the feedback service archives the closed cycle
(ArchiveService.ArchiveCycle, protos/stride/feedback/v1/archive.proto).

ArchiveCycle is idempotent (it upserts one record per employee and cycle), so a retry is
safe. An outage is retried by the workflow's retry policy; a refusal (an unknown cycle) is a
non-retryable ``ArchiveRefused``.
"""

from __future__ import annotations

import grpc
from temporalio import activity

from activities.clients import channel, metadata, to_application_error, workflow_actor
from services.common.settings import WorkerSettings
from stride.feedback.v1 import archive_pb2, archive_pb2_grpc
from workflows.cycle import ARCHIVE_ACTIVITY, ArchiveResult

ERROR_REFUSED = "ArchiveRefused"
# Archiving reads every active employee and the cycle's scores: a whole organisation.
ARCHIVE_TIMEOUT_SECONDS = 240.0


class ArchiveActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=ARCHIVE_ACTIVITY)
    async def archive_cycle(self, cycle_id: str) -> ArchiveResult:
        async with channel(self.settings.feedback_addr) as ch:
            try:
                done = await archive_pb2_grpc.ArchiveServiceStub(ch).ArchiveCycle(
                    archive_pb2.ArchiveCycleRequest(cycle_id=cycle_id),
                    timeout=ARCHIVE_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("feedback", err, ERROR_REFUSED) from err
        return ArchiveResult(created=done.created, updated=done.updated, scored=done.scored)
