"""The weekly risk sweep (``SweepRisk``): one batch of key results per call, in one
transaction. The rule — which key results are silent and what they are assessed with — is
the pure :mod:`services.goals.sweep`; this records what it decides: the key result's risk
fields (with the rule version) and ``last_swept_week``, and one
``stride.goals.v1.kr.risk_swept`` event per assessed key result, which the event bridge routes
to ``kr-escalation/<kr>`` as it does check-ins.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam

from services.common.errors import InvalidArgument
from services.common.models import utcnow
from services.common.outbox import new_event_meta
from services.goals import sweep
from services.goals.calendar import local_today, parse_week
from services.goals.evaluation import assess, store_assessment
from services.goals.handlers.shared import Deps, cycle_of
from services.goals.messages import key_result_pb
from services.goals.models import KEY_RESULTS, RISK_COLUMNS
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import ObjectiveStatus, Risk

DEFAULT_BATCH = 500
MAX_BATCH = 1000
# A key result id (the page token is the last id of the previous batch).
_MAX_TOKEN = 36

_SWEPT_COLUMNS = (
    *RISK_COLUMNS,
    "last_swept_week",
    "updated_at",
)
_UPDATE_SWEPT = KEY_RESULTS.update().where(KEY_RESULTS.c.id == bindparam("row_id"))


# The first time zone to finish a day: a week not over there is not over anywhere.
_EARLIEST_ZONE = "Pacific/Kiritimati"


def _request(request: pb.SweepRiskRequest, now: datetime) -> tuple[str, str, int, str]:
    batch = request.batch_size or DEFAULT_BATCH
    if not 1 <= batch <= MAX_BATCH:
        raise InvalidArgument("invalid_batch_size", f"batch_size must be 1..{MAX_BATCH}")
    token = request.page_token.strip()
    if len(token) > _MAX_TOKEN:
        raise InvalidArgument("invalid_page_token", "page_token is not valid")
    week = request.week.strip()
    if week and parse_week(week)[1] >= local_today(now, _EARLIEST_ZONE):
        raise InvalidArgument("week_not_over", f"{week} is not over yet")
    return request.cycle_id.strip(), week, batch, token


async def sweep_risk(deps: Deps, request: pb.SweepRiskRequest) -> pb.SweepRiskResponse:
    now = datetime.now(UTC)
    cycle_id, week, batch, after = _request(request, now)
    counts = pb.SweepRiskResponse()
    async with deps.units() as uow:
        if cycle_id:
            await cycle_of(uow.repo, cycle_id)
        targets = await uow.repo.sweep_targets(after, batch, cycle_id)
        rules = await deps.rules.current(uow.repo)
        history = await uow.repo.week_values([kr.id for kr, _, _ in targets])
        conn = await uow.session.connection()
        for kr, objective, cycle in targets:
            counts.examined += 1
            if kr.machine_stale:  # its source is silent: 'stale' until it speaks again
                counts.skipped += 1
                continue
            today = local_today(now, cycle.time_zone)
            swept_week = week or sweep.week_ended_before(today)
            checks = sweep.carried_check_ins(
                history[kr.id],
                swept_week,
                cycle_start=cycle.start_date,
                cycle_end=cycle.end_date,
                last_swept_week=kr.last_swept_week,
                today=today,
                objective_closed=objective.status == ObjectiveStatus.CLOSED,
            )
            if isinstance(checks, sweep.Skip):
                counts.skipped += 1
                counts.already_swept += checks == sweep.Skip.ALREADY_SWEPT
                continue
            result = assess(kr, cycle, checks, rules)
            store_assessment(kr, result, rules.version)
            kr.last_swept_week = swept_week
            kr.updated_at = utcnow()
            await conn.execute(
                _UPDATE_SWEPT, {"row_id": kr.id, **{c: getattr(kr, c) for c in _SWEPT_COLUMNS}}
            )
            await uow.emit(
                pb.KeyResultRiskSwept(
                    meta=new_event_meta("goals"),
                    key_result=key_result_pb(kr, objective.status),
                    week=swept_week,
                    last_check_in_week=kr.last_check_in_week,
                    cycle_id=cycle.id,
                    cycle_end_date=cycle.end_date.isoformat(),
                    time_zone=cycle.time_zone,
                )
            )
            counts.swept += 1
            counts.at_risk += result.status == Risk.AT_RISK
            counts.behind += result.status == Risk.BEHIND
            counts.on_track += result.status == Risk.ON_TRACK
    counts.next_page_token = targets[-1][0].id if len(targets) == batch else ""
    return counts
