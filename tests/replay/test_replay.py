"""Replay every committed workflow history against the current workflow code.

A change that would break running workflows (a new command, a removed timer, a reordered
upsert, ...) fails here. Regenerate on purpose with ``python -m tests.replay.record_histories``.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from services.worker.worker import WORKFLOWS, build_replayer
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
        "cycle_backfill_closed_by_hand",
        "kr_escalation_audited_resolved",
        "kr_escalation_audited_cycle_ended",
        "kr_escalation_audited_cycle_already_over",
        "kr_escalation_notified",
        "kr_escalation_red_blocker",
        "kr_escalation_red_lagging",
        "coordination_blocker_resolved",
        "coordination_back_on_track",
        "org_sync_dingtalk",
        "org_sync_dingtalk_audited",
        "org_sync_dingtalk_recorded",
        "invitations_three_chunks",
        "kr_escalation_channels",
        "plan_approval_escalated_on_calendar",
        "plan_approval_revision_on_calendar",
        "cycle_quarter_first_week_on_calendar",
        "cycle_quarter_closing_on_calendar",
        "kr_escalation_ladder",
        "coordination_ladder",
        "risk_sweep_scheduled",
        "risk_sweep_week",
        "kr_escalation_red_at_night",
        "coordination_at_night",
        "feedback_round_whole",
        "cycle_closing_with_rounds",
        "promotion_approved",
        "promotion_back_to_panel_withdrawn",
        "cycle_closing_archived",
        "integration_pull_lines",
        "monthly_brief",
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


async def test_the_cycle_needs_the_stride_sandbox_runner() -> None:
    """Temporal's default sandbox proxies zoneinfo.ZoneInfo (datetime refuses the proxy as a
    tzinfo); workflows.sandbox.RUNNER leaves it unrestricted, which is what lets the cycle's
    calendar work. Should an SDK release stop proxying it, this fails: drop the exception then.
    """
    history = load(HISTORIES_DIR / "cycle_quarter_first_week.json")
    default = await Replayer(workflows=WORKFLOWS).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert "tzinfo" in str(default.replay_failure)
    assert (await build_replayer().replay_workflow(history)).replay_failure is None


def test_no_private_sdk_module_is_imported() -> None:
    """Stride uses Temporal's public API only (a private module may change in any release)."""
    root = Path(__file__).resolve().parents[2]
    for layer in ("workflows", "activities", "services", "gateway", "tests", "bench"):
        for path in (root / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    private = [p for p in name.split(".") if p.startswith("_")]
                    assert not (name.startswith("temporalio") and private), f"{path}: {name}"
