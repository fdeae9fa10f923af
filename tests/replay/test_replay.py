"""Replay every committed workflow history against the current workflow code.

A change that would break running workflows (a new command, a removed timer, a reordered
upsert, ...) fails here. Regenerate on purpose with ``python -m tests.replay.record_histories``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from services.worker.worker import build_replayer
from workflows.kr_escalation import EscalationState, KrEscalationInput, RiskSignal

HISTORIES_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_committed() -> None:
    names = {p.stem for p in HISTORIES}
    assert {
        "kr_escalation_resolved",
        "kr_escalation_cycle_ended",
        "kr_escalation_cycle_already_over",
        "plan_approval_escalated",
        "plan_approval_plan_and_revision",
        "cycle_quarter_first_week",
        "cycle_quarter_closing",
        "kr_escalation_audited_resolved",
        "kr_escalation_audited_cycle_ended",
        "kr_escalation_audited_cycle_already_over",
        "org_sync_dingtalk",
        "org_sync_dingtalk_audited",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replays(path: Path) -> None:
    result = await build_replayer().replay_workflow(load(path))
    assert result.replay_failure is None


@workflow.defn(name="KrEscalationWorkflow")
class ForgetsTheCycleEndTimer:
    """A non-replay-safe edit of KrEscalationWorkflow: waits without the cycle-end timer."""

    @workflow.init
    def __init__(self, input: KrEscalationInput) -> None:
        self._state = EscalationState(key_result_id=input.key_result_id)

    @workflow.run
    async def run(self, input: KrEscalationInput) -> EscalationState:
        await workflow.sleep(timedelta(seconds=1))
        return self._state

    @workflow.signal(name="risk_assessed")
    def risk_assessed(self, signal: RiskSignal) -> None:
        pass


async def test_replay_catches_a_nondeterministic_change() -> None:
    """The replay test can fail: a changed workflow does not replay the committed history."""
    # Unsandboxed: the sandbox would re-import this test module (pytest and all) to run it.
    replayer = Replayer(
        workflows=[ForgetsTheCycleEndTimer], workflow_runner=UnsandboxedWorkflowRunner()
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES_DIR / "kr_escalation_resolved.json"))
