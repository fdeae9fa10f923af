"""Invitations for many people in the background: ``org-invitations/<job>``.

``POST /org/invitations`` makes the job in identity (who gets a password is decided there, at
once) and starts this workflow, answering 202 without waiting. The workflow issues the job's
chunks one by one (``invitations_issue_chunk``: identity hashes and stores ~50 passwords per
chunk in one transaction; a chunk issued before is not issued again, so a retry after a crash
issues nothing twice), then ends the job (``invitations_finish``: done, or failed with the
reason). HR follows the progress in identity (``GET /org/invitations/jobs/{id}``) and
downloads the slips once it is done.

Nothing personal passes through here: ids and counts only. StridePhase:
``invitations:issuing`` → ``invitations:done`` (or ``invitations:failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.search_attributes import STRIDE_PHASE

ISSUE_CHUNK_ACTIVITY = "invitations_issue_chunk"
FINISH_ACTIVITY = "invitations_finish"
QUERY_PROGRESS = "progress"

PHASE_ISSUING = "invitations:issuing"
PHASE_DONE = "invitations:done"
PHASE_FAILED = "invitations:failed"

# ApplicationError types raised by the activities.
ERROR_REFUSED = "InvitationsRefused"  # identity refused (the job ended, a bad chunk, ...)
ERROR_FAILED = "InvitationsFailed"  # the workflow's own failure

CHUNK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=[ERROR_REFUSED],
)
FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
    non_retryable_error_types=[ERROR_REFUSED],
)


def memo_title(people: int) -> str:
    """The Temporal UI title of a job (a count, no names)."""
    return f"Invitations for {people} people"


@dataclass
class InvitationInput:
    job_id: str
    chunk_count: int
    # Employee id of who asked: the audit actor of the passwords issued.
    requested_by: str = ""


@dataclass
class ChunkInput:
    job_id: str
    chunk_no: int
    requested_by: str = ""


@dataclass
class ChunkResult:
    chunk_no: int
    # Issued before (a retry after a crash): nothing was issued this time.
    replayed: bool
    issued: int
    skipped: int


@dataclass
class FinishInput:
    job_id: str
    # "" when done; why it failed otherwise.
    error: str = ""


@dataclass
class InvitationProgress:
    job_id: str
    chunk_count: int
    chunks_done: int = 0
    replayed_chunks: int = 0
    # running, done, failed
    status: str = "running"
    error: str = ""


def _message(err: ActivityError) -> str:
    cause = err.__cause__
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or err)


@workflow.defn
class InvitationWorkflow:
    @workflow.init
    def __init__(self, input: InvitationInput) -> None:
        self._progress = InvitationProgress(job_id=input.job_id, chunk_count=input.chunk_count)

    @workflow.run
    async def run(self, input: InvitationInput) -> InvitationProgress:
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(PHASE_ISSUING)])
        for chunk_no in range(input.chunk_count):
            try:
                done: ChunkResult = await workflow.execute_activity(
                    ISSUE_CHUNK_ACTIVITY,
                    ChunkInput(input.job_id, chunk_no, input.requested_by),
                    result_type=ChunkResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=CHUNK_RETRY,
                    summary=f"chunk {chunk_no + 1} of {input.chunk_count}",
                )
            except ActivityError as err:
                message = f"issuing chunk {chunk_no} failed: {_message(err)}"
                await self._finish(input.job_id, message)
                raise ApplicationError(message, type=ERROR_FAILED, non_retryable=True) from err
            self._progress = replace(
                self._progress,
                chunks_done=chunk_no + 1,
                replayed_chunks=self._progress.replayed_chunks + int(done.replayed),
            )
        await self._finish(input.job_id, "")
        return self.progress()

    async def _finish(self, job_id: str, error: str) -> None:
        await workflow.execute_activity(
            FINISH_ACTIVITY,
            FinishInput(job_id, error),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=FINISH_RETRY,
            summary="end the job",
        )
        phase = PHASE_FAILED if error else PHASE_DONE
        self._progress = replace(self._progress, status="failed" if error else "done", error=error)
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(phase)])

    @workflow.query(name=QUERY_PROGRESS)
    def progress(self) -> InvitationProgress:
        return replace(self._progress)
