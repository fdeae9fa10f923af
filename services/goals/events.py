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

EVENTS = EventRegistry(
    "goals",
    OUTBOX,
    CHECKIN_RECORDED,
    PROGRESS_CHANGED,
    APPROVAL_REQUESTED,
    APPROVAL_DECIDED,
    CYCLE_CREATED,
    CYCLE_CLOSED,
)
