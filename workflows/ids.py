"""Workflow ids: the one module that builds them (they are part of the ops interface).

Ops find runs in the Temporal UI by these ids, the bridge signal-with-starts by them, goals
stores the approval workflow's id on each approval and the gateway sends Updates to them, so
every producer and consumer imports the builder from here. Ids carry ids, never names or
other personal data.
"""

from __future__ import annotations

CYCLE_PREFIX = "cycle/"
KR_ESCALATION_PREFIX = "kr-escalation/"
COORDINATION_PREFIX = "coordination/"
ORG_SYNC_PREFIX = "org-sync/"
INVITATIONS_PREFIX = "org-invitations/"
RISK_SWEEP_PREFIX = "risk-sweep/"
# The Temporal Schedule that starts the weekly sweep (its runs: risk-sweep-<scheduled time>,
# each of which sweeps the week just ended as risk-sweep/<week>).
RISK_SWEEP_SCHEDULE = "risk-sweep"


def cycle(cycle_id: str) -> str:
    """``cycle/<cycle>``: the quarterly OKR cycle."""
    return f"{CYCLE_PREFIX}{cycle_id}"


def plan_approval(cycle_id: str, employee_id: str) -> str:
    """``cycle/<cycle>/plan/<employee>``: approval of a person's plan and target revisions."""
    return f"{CYCLE_PREFIX}{cycle_id}/plan/{employee_id}"


def kr_escalation(key_result_id: str) -> str:
    """``kr-escalation/<kr>``: escalation of an at-risk key result."""
    return f"{KR_ESCALATION_PREFIX}{key_result_id}"


def coordination(key_result_id: str, number: int) -> str:
    """``coordination/<kr>/<n>``: the n-th coordination meeting of a red key result's
    escalation run."""
    return f"{COORDINATION_PREFIX}{key_result_id}/{number}"


def org_sync(source: str, *, dry_run: bool = False) -> str:
    """``org-sync/<source>`` (``/dry-run`` for a run that changes nothing)."""
    return f"{ORG_SYNC_PREFIX}{source}" + ("/dry-run" if dry_run else "")


def invitations(job_id: str) -> str:
    """``org-invitations/<job>``: one-time initial passwords for many people, in chunks."""
    return f"{INVITATIONS_PREFIX}{job_id}"


def risk_sweep(week: str) -> str:
    """``risk-sweep/<week>``: the weekly risk sweep of key results nobody checked in for
    ``week`` (an ISO week such as ``2026-W48``)."""
    return f"{RISK_SWEEP_PREFIX}{week}"


FEEDBACK_ROUND_PREFIX = "feedback-round/"


def feedback_round(cycle_id: str, employee_id: str) -> str:
    """``feedback-round/<cycle>/<employee>``: the 360 feedback round about ``employee`` in
    ``cycle`` (one per cycle and person)."""
    return f"{FEEDBACK_ROUND_PREFIX}{cycle_id}/{employee_id}"


PROMOTION_PREFIX = "promotion/"


def promotion(case_id: str) -> str:
    """``promotion/<case>``: the promotion review of one case (its candidate is in the
    feedback service, not in the id)."""
    return f"{PROMOTION_PREFIX}{case_id}"


INTEGRATION_PULL_PREFIX = "integration-pull/"


def integration_pull(plugin: str, source: str) -> str:
    """``integration-pull/<plugin>/<source>``: a scheduled pull of one integration plugin's
    metric source (its Temporal Schedule has the same id; runs get the start time appended)."""
    return f"{INTEGRATION_PULL_PREFIX}{plugin}/{source}"


MONTHLY_BRIEF_PREFIX = "report/monthly/"
# The Temporal Schedule that starts the month-end brief's scheduled runs (each of which briefs
# the month as report/monthly/<yyyy-mm> on its last working day).
MONTHLY_BRIEF_SCHEDULE = "report-monthly"


def monthly_brief(month: str) -> str:
    """``report/monthly/<yyyy-mm>``: the month-end department briefs of ``month``."""
    return f"{MONTHLY_BRIEF_PREFIX}{month}"
