"""Talent rows → protobuf messages."""

from __future__ import annotations

from services.common.models import rfc3339
from services.feedback.talent_models import TalentSuggestion
from stride.feedback.v1 import talent_pb2 as pb


def suggestion_pb(row: TalentSuggestion) -> pb.Suggestion:
    return pb.Suggestion(
        id=row.id,
        cycle_id=row.cycle_id,
        employee_id=row.employee_id,
        department_id=row.department_id,
        status=row.status,
        reasons=list(row.reasons or []),
        cycles=row.cycles,
        level=row.level,
        spread=row.spread,
        stretch_objectives=row.stretch_objectives,
        stretch_met=row.stretch_met,
        improvement_praise=row.improvement_praise,
        accepted_challenges=row.accepted_challenges,
        innovation_points=row.innovation_points,
        final_rating=row.final_rating,
        decided_by=row.decided_by,
        decided_at=rfc3339(row.decided_at),
        decision_reason=row.decision_reason,
        created_at=rfc3339(row.created_at),
        updated_at=rfc3339(row.updated_at),
    )
