"""Activities of the invitations workflow: issue one chunk of a job, end the job (identity).

Issuing a chunk is idempotent in identity (a chunk issued before comes back ``replayed`` and
issues nothing), so retries are safe; identity being down or a race with someone getting a
password (``invitation_conflict``) is retried, a refusal (the job ended, no such chunk) is
not. The person who asked is the audit actor of the passwords issued.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from temporalio import activity

from activities.clients import (
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from services.common.settings import WorkerSettings
from stride.identity.v1 import auth_pb2, auth_pb2_grpc
from workflows.invitations import (
    ERROR_REFUSED,
    FINISH_ACTIVITY,
    ISSUE_CHUNK_ACTIVITY,
    ChunkInput,
    ChunkResult,
    FinishInput,
)

# Hashing a chunk of 50 takes ~5 s with the production argon2 profile.
CHUNK_TIMEOUT_SECONDS = 240.0
FINISH_TIMEOUT_SECONDS = 10.0


class InvitationActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def all(self) -> list[Callable[..., object]]:
        return [self.issue_chunk, self.finish]

    @activity.defn(name=ISSUE_CHUNK_ACTIVITY)
    async def issue_chunk(self, input: ChunkInput) -> ChunkResult:
        async with channel(self.settings.identity_addr) as ch:
            try:
                done = await auth_pb2_grpc.AuthServiceStub(ch).IssueInvitationChunk(
                    auth_pb2.IssueInvitationChunkRequest(
                        job_id=input.job_id, chunk_no=input.chunk_no
                    ),
                    timeout=CHUNK_TIMEOUT_SECONDS,
                    metadata=metadata(input.requested_by or workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        return ChunkResult(
            chunk_no=done.chunk_no,
            replayed=done.replayed,
            issued=done.job.issued,
            skipped=done.job.skipped,
        )

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, input: FinishInput) -> None:
        async with channel(self.settings.identity_addr) as ch:
            try:
                await auth_pb2_grpc.AuthServiceStub(ch).FinishInvitationJob(
                    auth_pb2.FinishInvitationJobRequest(job_id=input.job_id, error=input.error),
                    timeout=FINISH_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
