"""A stand-in ``record_decision`` activity: remembers the decisions workflows record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.org_sync import org_sync_apply_batch, org_sync_begin, org_sync_fail, org_sync_plan
from workflows.audit import RECORD_DECISION_ACTIVITY, Decision


class DecisionLog:
    def __init__(self) -> None:
        # (workflow id, decision) in the order they were recorded (each attempt)
        self.calls: list[tuple[str, Decision]] = []

    @activity.defn(name=RECORD_DECISION_ACTIVITY)
    async def record_decision(self, decision: Decision) -> str:
        self.calls.append((activity.info().workflow_id or "", decision))
        return f"evt-{len(self.calls)}"

    def of(self, workflow_id: str) -> list[Decision]:
        return [d for wid, d in self.calls if wid == workflow_id]

    def activities(self) -> list[Callable[..., Any]]:
        """The worker's activities with this stand-in for identity's audit API."""
        return [
            org_sync_begin,
            org_sync_plan,
            org_sync_apply_batch,
            org_sync_fail,
            self.record_decision,
        ]
