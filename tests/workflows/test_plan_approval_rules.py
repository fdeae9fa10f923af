"""The pure rules of the plan-approval workflow: who may decide what."""

from __future__ import annotations

from datetime import date, time

from workflows.calendar import local_instant
from workflows.plan_approval import (
    ApprovalItem,
    DecisionInput,
    approval_deadlines,
    decision_error,
)


def item(status: str = "pending") -> ApprovalItem:
    return ApprovalItem(
        approval_id="a1",
        kind="plan",
        approver_ids=["mgr", "skip"],
        requested_at="",
        remind_at="",
        escalate_at="",
        status=status,
    )


def test_only_current_approvers_or_hr_decide_pending_approvals() -> None:
    assert decision_error(item(), DecisionInput("a1", "approve", "mgr")) is None
    assert decision_error(item(), DecisionInput("a1", "reject", "skip")) is None
    assert decision_error(item(), DecisionInput("a1", "approve", "hr", actor_is_hr=True)) is None
    assert decision_error(item(), DecisionInput("a1", "approve", "other")) == "not_an_approver"
    assert decision_error(None, DecisionInput("a1", "approve", "mgr")) == "approval_not_found"
    assert decision_error(item(), DecisionInput("a1", "ok", "mgr")) == "invalid_decision"
    for status in ("deciding", "approved", "rejected"):
        assert decision_error(item(status), DecisionInput("a1", "approve", "mgr")) == (
            "approval_not_pending"
        )
    # Someone who may not decide learns nothing about the approval's status.
    assert decision_error(item("approved"), DecisionInput("a1", "approve", "x")) == (
        "not_an_approver"
    )


def test_nobody_decides_on_their_own_approval() -> None:
    """Four eyes: whose plan it is never decides it, HR override or not."""
    own_hr = DecisionInput("a1", "approve", "emp", actor_is_hr=True)
    assert decision_error(item(), own_hr, subject="emp") == "own_approval"
    assert decision_error(item(), DecisionInput("a1", "approve", "mgr"), subject="emp") is None


def test_reminder_and_escalation_deadlines_in_working_days() -> None:
    thursday = local_instant(date(2026, 12, 3), time(15), "Asia/Shanghai")
    remind, escalate = approval_deadlines(thursday, "Asia/Shanghai")
    assert remind == local_instant(date(2026, 12, 7), time(15), "Asia/Shanghai")  # Monday
    assert escalate == local_instant(date(2026, 12, 10), time(15), "Asia/Shanghai")  # Thursday
