"""The goals service's events: the one place their subjects are spelled."""

from __future__ import annotations

from services.common.events import Event, EventRegistry
from services.goals.models import OUTBOX
from stride.goals.v1 import goals_pb2 as pb

CHECKIN_RECORDED = Event(
    "stride.goals.v1.checkin.recorded",
    pb.CheckInRecorded,
    "a check-in was recorded or replaced (with the key result's new risk assessment)",
)
PROGRESS_CHANGED = Event(
    "stride.goals.v1.kr.progress_changed",
    pb.KeyResultProgressChanged,
    "a key result's value or score changed (check-in or target revision)",
)
APPROVAL_REQUESTED = Event(
    "stride.goals.v1.approval.requested",
    pb.ApprovalRequested,
    "a plan or a target revision awaits approval",
)
APPROVAL_DECIDED = Event(
    "stride.goals.v1.approval.decided",
    pb.ApprovalDecided,
    "an approval was approved or rejected",
)
CYCLE_CREATED = Event("stride.goals.v1.cycle.created", pb.CycleCreated, "a cycle was created")
CYCLE_CLOSED = Event(
    "stride.goals.v1.cycle.closed",
    pb.CycleClosed,
    "a cycle was closed, with its final scores",
)
OBJECTIVE_CREATED = Event(
    "stride.goals.v1.objective.created",
    pb.ObjectiveCreated,
    "an objective was created or copied (its key results: kr.created each)",
)
OBJECTIVE_UPDATED = Event(
    "stride.goals.v1.objective.updated",
    pb.ObjectiveUpdated,
    "an objective's fields, key-result weights or status (submitted, approved, back to draft) "
    "changed",
)
OBJECTIVE_CLOSED = Event(
    "stride.goals.v1.objective.closed", pb.ObjectiveClosed, "an objective closed with its cycle"
)
OBJECTIVE_DELETED = Event(
    "stride.goals.v1.objective.deleted",
    pb.ObjectiveDeleted,
    "a draft objective was deleted with its key results",
)
KR_CREATED = Event(
    "stride.goals.v1.kr.created",
    pb.KeyResultCreated,
    "a key result was added, created with its objective, or copied",
)
KR_UPDATED = Event(
    "stride.goals.v1.kr.updated",
    pb.KeyResultUpdated,
    "a key result's definition, owner, target (approved revision) or self-score changed",
)
KR_CLOSED = Event(
    "stride.goals.v1.kr.closed",
    pb.KeyResultClosed,
    "a key result closed with its objective (final score)",
)
RISK_RULES_CHANGED = Event(
    "stride.goals.v1.risk_rules.changed",
    pb.RiskRulesChanged,
    "HR set a new version of the risk rules (in force for every assessment from then on)",
)

RISK_SWEPT = Event(
    "stride.goals.v1.kr.risk_swept",
    pb.KeyResultRiskSwept,
    "the weekly risk sweep assessed a key result with no check-in for a week (its last value "
    "carried forward; no check-in is stored)",
)
BLOCKER_RESOLVED = Event(
    "stride.goals.v1.blocker.resolved",
    pb.BlockerResolved,
    "a department marked a check-in blocker addressed to it resolved",
)

EVENTS = EventRegistry(
    "goals",
    OUTBOX,
    CHECKIN_RECORDED,
    PROGRESS_CHANGED,
    APPROVAL_REQUESTED,
    APPROVAL_DECIDED,
    CYCLE_CREATED,
    CYCLE_CLOSED,
    OBJECTIVE_CREATED,
    OBJECTIVE_UPDATED,
    OBJECTIVE_CLOSED,
    OBJECTIVE_DELETED,
    KR_CREATED,
    KR_UPDATED,
    KR_CLOSED,
    BLOCKER_RESOLVED,
    RISK_RULES_CHANGED,
    RISK_SWEPT,
)
