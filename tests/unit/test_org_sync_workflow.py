"""OrgSyncWorkflow on the time-skipping server with stand-in activities: phases, retries,
failures, supersession, dry runs; and replay of a committed history (determinism)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.org_sync import OrgSyncActivities, org_sync_apply_batch, org_sync_plan
from services.common.settings import WorkerSettings
from services.identity.sync.connectors import SourceInvalid
from services.worker.worker import ensure_search_attributes
from tests.fakes.audit import DecisionLog
from workflows import ids
from workflows.org_sync import (
    ACTION_FAILED,
    ACTION_FINISHED,
    ACTION_STARTED,
    APPLY_ACTIVITY,
    BEGIN_ACTIVITY,
    ERROR_REFUSED,
    ERROR_SOURCE_INVALID,
    ERROR_SOURCE_UNAVAILABLE,
    ERROR_SUPERSEDED,
    FAIL_ACTIVITY,
    PHASE_DONE,
    PHASE_FAILED,
    PLAN_ACTIVITY,
    QUERY_REPORT,
    ApplyInput,
    ApplyResult,
    BeginInput,
    FailInput,
    OrgSyncInput,
    OrgSyncReport,
    OrgSyncWorkflow,
    PlanInput,
    PlanResult,
    SyncCounts,
)
from workflows.search_attributes import STRIDE_PHASE

HISTORIES = Path(__file__).parent.parent / "replay" / "histories"
# Recorded before runs recorded their decisions in the audit trail (patch org-sync-audit).
HISTORY = HISTORIES / "org_sync_dingtalk.json"
HISTORY_AUDITED = HISTORIES / "org_sync_dingtalk_audited.json"
# Recorded once runs were recorded in identity from their start (patch org-sync-runs).
HISTORY_RECORDED = HISTORIES / "org_sync_dingtalk_recorded.json"


class Stand:
    """Stand-in activities with scripted failures."""

    def __init__(self, batches: int = 3) -> None:
        self.batches = batches
        self.plan_calls: list[PlanInput] = []
        self.apply_calls: list[ApplyInput] = []
        self.begun: list[BeginInput] = []
        self.failed: list[FailInput] = []
        self.plan_error: Callable[[int], ApplicationError | None] = lambda attempt: None
        self.apply_error: Callable[[ApplyInput, int], ApplicationError | None] = (
            lambda call, attempt: None
        )
        # When set, planning waits for it (a run that is still going).
        self.gate: asyncio.Event | None = None
        self.decisions = DecisionLog()

    def activities(self) -> list[Callable[..., object]]:
        return [self.begin, self.plan, self.apply, self.fail, self.decisions.record_decision]

    @activity.defn(name=BEGIN_ACTIVITY)
    async def begin(self, input: BeginInput) -> None:
        self.begun.append(input)

    @activity.defn(name=FAIL_ACTIVITY)
    async def fail(self, input: FailInput) -> None:
        self.failed.append(input)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, input: PlanInput) -> PlanResult:
        self.plan_calls.append(input)
        if self.gate is not None:
            await self.gate.wait()
        error = self.plan_error(activity.info().attempt)
        if error is not None:
            raise error
        return PlanResult(
            run_id=input.run_id,
            status="dry_run" if input.dry_run else "planned",
            counts=SyncCounts(created=5, moved=2, rejected=1),
            batch_count=self.batches,
            batches_applied=0,
            operation_count=7,
            rejected_reasons={"unknown_manager": 1},
        )

    @activity.defn(name=APPLY_ACTIVITY)
    async def apply(self, input: ApplyInput) -> ApplyResult:
        self.apply_calls.append(input)
        error = self.apply_error(input, activity.info().attempt)
        if error is not None:
            raise error
        return ApplyResult(
            batch_no=input.batch_no,
            replayed=False,
            operations=3,
            batches_applied=input.batch_no + 1,
            batch_count=self.batches,
            status="applied" if input.batch_no + 1 == self.batches else "applying",
        )


@pytest.fixture
async def client(temporal_env: WorkflowEnvironment) -> Client:
    await ensure_search_attributes(temporal_env.client)
    return temporal_env.client


@pytest.fixture
async def stand(client: Client) -> AsyncIterator[tuple[Stand, str]]:
    stand = Stand()
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OrgSyncWorkflow],
        activities=stand.activities(),
    ):
        yield stand, queue


async def start(client: Client, queue: str, **kwargs: object):
    source = str(kwargs.pop("source", "dingtalk"))
    return await client.start_workflow(
        OrgSyncWorkflow.run,
        OrgSyncInput(source=source, **kwargs),  # type: ignore[arg-type]
        id=f"{ids.org_sync(source)}/{uuid.uuid4()}",
        task_queue=queue,
    )


async def test_plan_then_every_batch_in_order(client: Client, stand: tuple[Stand, str]) -> None:
    fake, queue = stand
    handle = await start(client, queue, batch_size=50)
    report = await handle.result()
    assert report.status == "applied" and report.phase == PHASE_DONE
    assert (report.batch_count, report.batches_applied, report.operation_count) == (3, 3, 7)
    assert report.counts == SyncCounts(created=5, moved=2, rejected=1)
    assert report.rejected_reasons == {"unknown_manager": 1}
    assert [c.batch_no for c in fake.apply_calls] == [0, 1, 2]
    (plan,) = fake.plan_calls
    assert plan.batch_size == 50 and not plan.dry_run and uuid.UUID(plan.run_id)
    assert {c.run_id for c in fake.apply_calls} == {plan.run_id} == {report.run_id}
    assert {c.source for c in fake.apply_calls} == {"dingtalk"}
    # identity heard of the run before anything was fetched, under the same id.
    assert [(b.run_id, b.dry_run) for b in fake.begun] == [(report.run_id, False)]
    assert fake.failed == []
    description = await handle.describe()
    assert description.typed_search_attributes.get(STRIDE_PHASE) == PHASE_DONE
    # The audit trail hears that the run started and how it finished.
    started, finished = fake.decisions.of(handle.id)
    assert (started.action, started.resource_type, started.resource_id) == (
        ACTION_STARTED,
        "org_sync_run",
        report.run_id,
    )
    assert started.detail == "source dingtalk"
    assert finished.action == ACTION_FINISHED and finished.step == "finished"
    assert finished.detail.startswith("applied: created=5 updated=0 moved=2 deactivated=0")
    assert "batches 3/3" in finished.detail and "unknown_manager=1" in finished.detail
    if os.environ.get("STRIDE_WRITE_HISTORIES"):  # regenerate the committed history
        HISTORY_RECORDED.write_text((await handle.fetch_history()).to_json())


async def test_dry_run_applies_nothing_and_is_a_recorded_run(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    report = await (await start(client, queue, dry_run=True)).result()
    assert report.status == "dry_run" and report.dry_run and uuid.UUID(report.run_id)
    assert fake.plan_calls[0].run_id == report.run_id and fake.apply_calls == []
    assert [(b.run_id, b.dry_run) for b in fake.begun] == [(report.run_id, True)]


async def test_the_starter_names_the_run_the_file_and_who_asked(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    run_id, upload_id = str(uuid.uuid4()), str(uuid.uuid4())
    report = await (
        await start(
            client,
            queue,
            source="file",
            run_id=run_id,
            upload_id=upload_id,
            requested_by="hr-1",
            allow_mass_deactivation=True,
        )
    ).result()
    assert report.run_id == run_id
    (begun,) = fake.begun
    assert (begun.run_id, begun.upload_id, begun.requested_by) == (run_id, upload_id, "hr-1")
    (plan,) = fake.plan_calls
    assert (plan.run_id, plan.upload_id, plan.requested_by) == (run_id, upload_id, "hr-1")
    assert plan.allow_mass_deactivation


async def test_source_outage_is_retried_then_fails_cleanly(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    fake.plan_error = lambda attempt: ApplicationError(
        "DingTalk /gettoken: HTTP 500 after 3 attempts", type=ERROR_SOURCE_UNAVAILABLE
    )
    handle = await start(client, queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "HTTP 500" in str(failed.value.cause)
    assert len(fake.plan_calls) == 3 and fake.apply_calls == []
    assert [(d.step, d.action) for d in fake.decisions.of(handle.id)] == [
        ("started", ACTION_STARTED),
        ("failed", ACTION_FAILED),
    ]
    assert "HTTP 500" in fake.decisions.of(handle.id)[1].detail
    # identity records the failure with its reason (the runs list shows it).
    (failed_run,) = fake.failed
    assert failed_run.run_id == fake.begun[0].run_id and "HTTP 500" in failed_run.reason
    report = await handle.query(QUERY_REPORT, result_type=OrgSyncReport)
    assert report.status == "failed" and report.phase == PHASE_FAILED
    described = await handle.describe()
    assert described.typed_search_attributes.get(STRIDE_PHASE) == PHASE_FAILED


async def test_a_passing_outage_recovers_within_the_run(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    fake.plan_error = lambda attempt: (
        ApplicationError("busy", type=ERROR_SOURCE_UNAVAILABLE) if attempt < 3 else None
    )
    report = await (await start(client, queue)).result()
    assert report.status == "applied" and len(fake.plan_calls) == 3


async def test_bad_configuration_is_not_retried(client: Client, stand: tuple[Stand, str]) -> None:
    fake, queue = stand
    fake.plan_error = lambda attempt: ApplicationError(
        "DingTalk is not configured", type=ERROR_SOURCE_INVALID, non_retryable=True
    )
    with pytest.raises(WorkflowFailureError):
        await (await start(client, queue)).result()
    assert len(fake.plan_calls) == 1


async def test_apply_retries_transient_failures_and_stops_when_superseded(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    fake.apply_error = lambda call, attempt: (
        ApplicationError("identity down", type="IdentityUnavailable")
        if call.batch_no == 1 and attempt < 3
        else ApplicationError("newer plan", type=ERROR_SUPERSEDED, non_retryable=True)
        if call.batch_no == 2
        else None
    )
    report = await (await start(client, queue)).result()
    assert report.status == "superseded" and report.batches_applied == 2
    assert [c.batch_no for c in fake.apply_calls] == [0, 1, 1, 1, 2]


async def test_org_changed_since_plan_fails_without_retrying(
    client: Client, stand: tuple[Stand, str]
) -> None:
    fake, queue = stand
    fake.apply_error = lambda call, attempt: ApplicationError(
        "org_changed_since_plan", type=ERROR_REFUSED, non_retryable=True
    )
    handle = await start(client, queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "applying batch 0 failed" in str(failed.value.cause)
    assert len(fake.apply_calls) == 1
    assert [f.reason for f in fake.failed] == [str(failed.value.cause.message)]  # type: ignore[attr-defined]


async def test_activity_errors_are_classified(client: Client) -> None:
    """The real plan activity turns connector errors into the workflow's error types."""

    def broken(source: str, settings: WorkerSettings):
        raise SourceInvalid(f"unknown org sync source {source!r}")

    queue = f"tq-{uuid.uuid4()}"
    real = OrgSyncActivities(WorkerSettings(identity_addr="127.0.0.1:1"), connectors=broken)
    stand = Stand()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OrgSyncWorkflow],
        activities=[
            stand.begin,
            real.plan,
            real.apply_batch,
            stand.fail,
            stand.decisions.record_decision,
        ],
    ):
        handle = await start(client, queue, source="ldap")
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "unknown org sync source 'ldap'" in str(failed.value.cause)
    # The worker registers module-level activities with the same names.
    assert org_sync_plan.__temporal_activity_definition.name == PLAN_ACTIVITY  # type: ignore[attr-defined]
    assert org_sync_apply_batch.__temporal_activity_definition.name == APPLY_ACTIVITY  # type: ignore[attr-defined]


async def test_replay_of_a_committed_history() -> None:
    """A change to the workflow that breaks determinism fails here (regenerate the history
    with STRIDE_WRITE_HISTORIES=1 only when the change is meant to be incompatible)."""
    from temporalio.client import WorkflowHistory

    for path in (HISTORY, HISTORY_AUDITED, HISTORY_RECORDED):
        data = json.loads(path.read_text())
        history = WorkflowHistory.from_json("org-sync/dingtalk", data)
        await Replayer(workflows=[OrgSyncWorkflow]).replay_workflow(history)
