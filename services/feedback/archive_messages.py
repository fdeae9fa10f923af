"""Archive and calibration rows → protobuf messages (no rules: who sees what is decided by
the handlers)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.common.models import rfc3339
from services.feedback.archive_models import ArchiveRecord, CalibrationChange, CalibrationSession
from services.feedback.domain import archive as rules
from stride.feedback.v1 import archive_pb2 as pb


def record_pb(r: ArchiveRecord) -> pb.ArchiveRecord:
    msg = pb.ArchiveRecord(
        id=r.id,
        employee_id=r.employee_id,
        cycle_id=r.cycle_id,
        department_id=r.department_id,
        manager_id=r.manager_id,
        cycle_start=r.cycle_start.isoformat(),
        cycle_end=r.cycle_end.isoformat(),
        self_rating=r.self_rating,
        self_comment=r.self_comment,
        manager_rating=r.manager_rating,
        manager_comment=r.manager_comment,
        feedback_360_json=json.dumps(r.feedback_360 or {}, ensure_ascii=False, sort_keys=True),
        external_metrics_json=json.dumps(
            r.external_metrics or {}, ensure_ascii=False, sort_keys=True
        ),
        final_rating=r.final_rating,
        potential=r.potential,
        updated_at=rfc3339(r.updated_at),
        rated_by=r.rated_by,
        archived_at=rfc3339(r.archived_at),
    )
    if r.okr_score is not None:
        msg.okr_score = r.okr_score
    return msg


def change_pb(c: CalibrationChange) -> pb.CalibrationChange:
    return pb.CalibrationChange(
        employee_id=c.employee_id,
        field=c.field,
        old_value=c.old_value,
        new_value=c.new_value,
        reason=c.reason,
        actor_id=c.actor_id,
        created_at=rfc3339(c.created_at),
    )


def calibration_pb(
    s: CalibrationSession,
    records: Sequence[ArchiveRecord],
    changes: Sequence[CalibrationChange],
) -> pb.Calibration:
    effective = [rules.effective_rating(r.final_rating, r.manager_rating) for r in records]
    shares = rules.distribution(effective, s.guidance or {})
    cells, unplaced = rules.nine_box(
        rules.Placed(r.employee_id, rating, r.potential)
        for r, rating in zip(records, effective, strict=True)
    )
    msg = pb.Calibration(
        id=s.id,
        department_id=s.department_id,
        cycle_id=s.cycle_id,
        nine_box=[
            pb.NineBoxCell(performance=perf, potential=pot, employee_ids=ids)
            for (perf, pot), ids in cells.items()
        ],
        unplaced=unplaced,
        records=[record_pb(r) for r in records],
        changes=[change_pb(c) for c in changes],
        created_by=s.created_by,
        created_at=rfc3339(s.created_at),
    )
    for share in shares:
        count = msg.distribution.add(rating=share.rating, count=share.count, share=share.share)
        if share.target is not None:
            count.target = share.target
    return msg
