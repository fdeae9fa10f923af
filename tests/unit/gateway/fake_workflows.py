"""A stand-in for workflows/kr_escalation.py: only the ``state`` query the gateway uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow


@dataclass
class EscalationState:
    key_result_id: str
    level: int = 2
    level_name: str = "red"
    status: str = "active"
    at_risk_weeks: list[str] = field(default_factory=list)


@workflow.defn(name="KrEscalationWorkflow")
class FakeKrEscalationWorkflow:
    @workflow.init
    def __init__(self, key_result_id: str) -> None:
        self._state = EscalationState(key_result_id, at_risk_weeks=["2026-W09", "2026-W10"])
        self._done = False

    @workflow.run
    async def run(self, key_result_id: str) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.query
    def state(self) -> EscalationState:
        return self._state

    @workflow.signal
    def finish(self) -> None:
        self._done = True
