"""How the decision endpoint answers when the approval workflow refuses or Temporal fails."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from gateway.routers.approval_decisions import _refused, _temporal


def refused(kind: str | None) -> tuple[int, str]:
    cause = ApplicationError("refused", type=kind) if kind else RuntimeError("boom")
    err = WorkflowUpdateFailedError(cause)  # type: ignore[arg-type]
    problem = _refused(err)
    return problem.status, problem.code


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("not_an_approver", (403, "not_an_approver")),
        ("approval_not_pending", (409, "approval_not_pending")),
        ("invalid_decision", (422, "invalid_decision")),
        ("decision_refused", (409, "decision_refused")),
        # goals knows the approval, the workflow not yet: retry later.
        ("approval_not_found", (503, "approval_workflow_unavailable")),
        ("SomethingElse", (502, "approval_workflow_failed")),
        (None, (502, "approval_workflow_failed")),
    ],
)
def test_validator_refusals_map_to_stable_codes(
    kind: str | None, expected: tuple[int, str]
) -> None:
    assert refused(kind) == expected


def test_temporal_failures() -> None:
    def code(status: RPCStatusCode) -> tuple[int, str]:
        p = _temporal(RPCError("x", status, b""))
        return p.status, p.code

    assert code(RPCStatusCode.UNAVAILABLE) == (503, "temporal_unavailable")
    assert code(RPCStatusCode.NOT_FOUND) == (503, "approval_workflow_unavailable")
    assert code(RPCStatusCode.DEADLINE_EXCEEDED) == (504, "temporal_timeout")
    assert _temporal(ValueError("?")).status == 502
