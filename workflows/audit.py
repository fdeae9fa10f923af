"""Workflow decisions in the audit trail: what a workflow hands to the ``record_decision``
activity (activities/audit.py), which records it with identity as actor
``workflow:<workflow id>``.

A decision is recorded once per workflow run and ``step`` (identity derives the entry's id from
workflow id, run id and step): a retried activity, or a replayed workflow, adds no second row.
``detail`` is short and carries no personal data (levels, counts, reason codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

RECORD_DECISION_ACTIVITY = "record_decision"
# The activity needs identity; identity down is retried with back-off for a long while
# (a decision is never dropped), bad input is not retried.
RECORD_DECISION_TIMEOUT = timedelta(seconds=30)
RECORD_DECISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["AuditDecisionRefused"],
)


@dataclass
class Decision:
    # Unique within the workflow run, e.g. "level-2", "sync-started".
    step: str
    # e.g. "worker.kr_escalation.level_changed"
    action: str
    resource_type: str
    resource_id: str
    detail: str = ""


async def record_decision(decision: Decision) -> None:
    """Record ``decision`` (from workflow code). Identity being down is retried until it is
    back; a refusal (a bug) is logged and does not fail the workflow's own work."""
    try:
        await workflow.execute_activity(
            RECORD_DECISION_ACTIVITY,
            decision,
            start_to_close_timeout=RECORD_DECISION_TIMEOUT,
            retry_policy=RECORD_DECISION_RETRY,
            summary=f"audit: {decision.action}",
        )
    except ActivityError as err:
        workflow.logger.warning("decision not recorded: %s (%s)", decision.action, err.cause)


def memo(title: str) -> dict[str, str]:
    """The memo a starter sets: a readable title for the Temporal UI (ids only, no names)."""
    return {"title": title}
