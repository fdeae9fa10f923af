"""Record tests/replay/histories/kr_escalation_audited_*.json by running the workflow.

    .venv/bin/python -m tests.replay.record_histories

The histories without ``audited`` in their name were recorded before the workflow recorded
its decisions in the audit trail (patch ``kr-escalation-audit``); they stay as they are, so
runs started by older code keep replaying. This script records the current behaviour only
(decisions go to a stand-in ``record_decision`` activity).

Runs each scenario on the time-skipping test server and writes the workflow's history as
JSON. Re-record only on purpose: the committed histories are what running workflows look
like, and tests/replay/test_replay.py replays them against the current code, so a change
that is not replay-safe fails CI instead of breaking workflows in production.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import find_binary
from services.worker.worker import build_worker, ensure_search_attributes
from tests.fakes.audit import DecisionLog
from workflows.kr_escalation import (
    SIGNAL_RISK_ASSESSED,
    EscalationState,
    KrEscalationInput,
    KrEscalationWorkflow,
    RiskSignal,
    workflow_id,
)

HISTORIES = Path(__file__).parent / "histories"
IDENTITY = "stride-replay-recorder"

Handle = WorkflowHandle[KrEscalationWorkflow, EscalationState]


def _signal(event: int, week: str, status: str) -> RiskSignal:
    return RiskSignal(
        event_id=f"evt-{event:04d}",
        check_in_id=f"chk-{event:04d}",
        week=week,
        status=status,
        shortfall=0.3 if status == "at_risk" else 0.0,
        behind_streak=2 if status == "at_risk" else 0,
    )


async def _processed(handle: Handle, signals: int) -> None:
    """Wait until the workflow has handled ``signals`` signals (one task per signal batch)."""
    for _ in range(200):
        history = await handle.fetch_history()
        kinds = [e.WhichOneof("attributes") for e in history.events]
        signalled = [
            i for i, k in enumerate(kinds) if k == "workflow_execution_signaled_event_attributes"
        ]
        if (
            len(signalled) == signals
            and "workflow_task_completed_event_attributes" in kinds[signalled[-1] :]
        ):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} did not process {signals} signals")


async def _start(
    env: WorkflowEnvironment, client: Client, task_queue: str, name: str, cycle_end: timedelta
) -> Handle:
    now = await env.get_current_time()
    kr = f"kr-replay-{name}"
    return await client.start_workflow(
        KrEscalationWorkflow.run,
        KrEscalationInput(
            key_result_id=kr,
            cycle_id="cycle-2026q4",
            department_id="dept-assembly",
            cycle_end_utc=(now + cycle_end).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ),
        id=f"{workflow_id(kr)}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        start_signal=SIGNAL_RISK_ASSESSED,
        start_signal_args=[_signal(1, "2026-W45", "at_risk")],
    )


async def resolved(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Rises to red, ignores a redelivery, a same-week resubmission and 'behind'; resolves."""
    handle = await _start(env, client, task_queue, "resolved", timedelta(days=60))
    await _processed(handle, 1)
    steps = [
        _signal(2, "2026-W46", "at_risk"),
        _signal(2, "2026-W46", "at_risk"),  # redelivered
        _signal(3, "2026-W46", "at_risk"),  # re-submitted check-in, same week
        _signal(4, "2026-W47", "behind"),
        _signal(5, "2026-W48", "at_risk"),
    ]
    for n, step in enumerate(steps, start=2):
        await handle.signal(KrEscalationWorkflow.risk_assessed, step)
        await _processed(handle, n)
    await handle.signal(KrEscalationWorkflow.risk_assessed, _signal(6, "2026-W49", "on_track"))
    await handle.result()
    return handle


async def cycle_ended(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Two at-risk weeks, then the cycle-end timer fires."""
    handle = await _start(env, client, task_queue, "cycle-ended", timedelta(days=30))
    await _processed(handle, 1)
    await handle.signal(KrEscalationWorkflow.risk_assessed, _signal(2, "2026-W46", "at_risk"))
    await _processed(handle, 2)
    await handle.result()
    return handle


async def cycle_already_over(env: WorkflowEnvironment, client: Client, task_queue: str) -> Handle:
    """Started after the cycle's end: ends at once."""
    handle = await _start(env, client, task_queue, "cycle-over", -timedelta(days=1))
    await handle.result()
    return handle


SCENARIOS: dict[str, Callable[[WorkflowEnvironment, Client, str], Awaitable[Handle]]] = {
    "kr_escalation_audited_resolved": resolved,
    "kr_escalation_audited_cycle_ended": cycle_ended,
    "kr_escalation_audited_cycle_already_over": cycle_already_over,
}


async def record() -> dict[str, str]:
    """Run every scenario; return its history as JSON by file name (without ``.json``)."""
    histories = {}
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        identity=IDENTITY,  # not pid@hostname: keep the machine out of committed files
    ) as env:
        await ensure_search_attributes(env.client)
        task_queue = f"record-{uuid.uuid4()}"
        decisions = DecisionLog()
        async with build_worker(env.client, task_queue, decisions.activities(), identity=IDENTITY):
            for name, scenario in SCENARIOS.items():
                handle = await scenario(env, env.client, task_queue)
                histories[name] = (await handle.fetch_history()).to_json()
    return histories


def main() -> None:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    for name, history in asyncio.run(record()).items():
        path = HISTORIES / f"{name}.json"
        path.write_text(history + "\n")
        print(path)


if __name__ == "__main__":
    main()
