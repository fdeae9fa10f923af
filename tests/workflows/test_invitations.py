"""InvitationWorkflow on the time-skipping server with stand-in activities: chunks in order,
the job ended done or failed with the reason, transient failures retried; and replay of its
committed history (determinism)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.invitations import InvitationActivities
from services.common.settings import WorkerSettings
from services.worker.worker import activities_for, build_replayer
from workflows import ids
from workflows.invitations import (
    ERROR_REFUSED,
    FINISH_ACTIVITY,
    ISSUE_CHUNK_ACTIVITY,
    PHASE_DONE,
    PHASE_FAILED,
    QUERY_PROGRESS,
    ChunkInput,
    ChunkResult,
    FinishInput,
    InvitationInput,
    InvitationProgress,
    InvitationWorkflow,
)
from workflows.search_attributes import STRIDE_PHASE

HISTORY = Path(__file__).parent.parent / "replay" / "histories" / "invitations_three_chunks.json"


class Stand:
    def __init__(self) -> None:
        self.chunks: list[ChunkInput] = []
        self.finished: list[FinishInput] = []
        self.chunk_error: Callable[[ChunkInput, int], ApplicationError | None] = (
            lambda call, attempt: None
        )

    @activity.defn(name=ISSUE_CHUNK_ACTIVITY)
    async def issue_chunk(self, input: ChunkInput) -> ChunkResult:
        self.chunks.append(input)
        error = self.chunk_error(input, activity.info().attempt)
        if error is not None:
            raise error
        return ChunkResult(chunk_no=input.chunk_no, replayed=False, issued=50, skipped=0)

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, input: FinishInput) -> None:
        self.finished.append(input)


@pytest.fixture
async def stand(client: Client) -> AsyncIterator[tuple[Stand, str]]:
    stand = Stand()
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[InvitationWorkflow],
        activities=[stand.issue_chunk, stand.finish],
    ):
        yield stand, queue


async def start(client: Client, queue: str, chunks: int):
    job = str(uuid.uuid4())
    return await client.start_workflow(
        InvitationWorkflow.run,
        InvitationInput(job, chunks, "hr-1"),
        id=ids.invitations(job),
        task_queue=queue,
    )


async def test_every_chunk_in_order_then_the_job_is_done(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    handle = await start(client, queue, 3)
    assert handle.id.startswith("org-invitations/")
    progress = await handle.result()
    assert progress.status == "done" and progress.chunks_done == 3
    assert [(c.chunk_no, c.requested_by) for c in fake.chunks] == [
        (0, "hr-1"),
        (1, "hr-1"),
        (2, "hr-1"),
    ]
    assert [f.error for f in fake.finished] == [""]
    assert await handle.query(QUERY_PROGRESS, result_type=InvitationProgress) == progress
    described = await handle.describe()
    assert described.typed_search_attributes.get(STRIDE_PHASE) == PHASE_DONE
    if os.environ.get("STRIDE_WRITE_HISTORIES"):  # regenerate the committed history
        HISTORY.write_text((await handle.fetch_history()).to_json())


async def test_transient_failures_are_retried(client: Client, stand: tuple[Stand, str]) -> None:
    fake, queue = stand
    fake.chunk_error = lambda call, attempt: (
        ApplicationError("identity down", type="IdentityUnavailable")
        if call.chunk_no == 1 and attempt < 3
        else None
    )
    progress = await (await start(client, queue, 2)).result()
    assert progress.status == "done"
    assert [c.chunk_no for c in fake.chunks] == [0, 1, 1, 1]


async def test_a_refused_chunk_ends_the_job_failed_with_the_reason(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    fake.chunk_error = lambda call, attempt: (
        ApplicationError("the job has ended", type=ERROR_REFUSED, non_retryable=True)
        if call.chunk_no == 1
        else None
    )
    handle = await start(client, queue, 3)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "issuing chunk 1 failed: the job has ended" in str(failed.value.cause)
    assert [c.chunk_no for c in fake.chunks] == [0, 1]
    (finished,) = fake.finished
    assert finished.error == "issuing chunk 1 failed: the job has ended"
    progress = await handle.query(QUERY_PROGRESS, result_type=InvitationProgress)
    assert progress.status == "failed" and progress.chunks_done == 1
    described = await handle.describe()
    assert described.typed_search_attributes.get(STRIDE_PHASE) == PHASE_FAILED


def test_the_worker_registers_the_activities() -> None:
    names = {
        getattr(a, "__temporal_activity_definition").name for a in activities_for(WorkerSettings())
    }
    assert {ISSUE_CHUNK_ACTIVITY, FINISH_ACTIVITY} <= names
    assert len(InvitationActivities(WorkerSettings()).all()) == 2


async def test_replay_of_the_committed_history() -> None:
    history = WorkflowHistory.from_json("org-invitations", json.loads(HISTORY.read_text()))
    result = await build_replayer().replay_workflow(history)
    assert result.replay_failure is None
