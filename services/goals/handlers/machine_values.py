"""Machine-fed key results: values and staleness telemetry pushes (RecordMachineValue,
SetKeyResultStale).

A value is the current week's check-in of a key result whose data source is telemetry,
recorded by "telemetry" through the one check-in path (handlers/check_ins.py ``_record``:
the same validation, risk and score, CheckInRecorded and progress events), updated in place
for the week. A history version (and audit entry) is kept per the pure rule in
domain/machine_values.py. While the bound source is stale the key result's risk status is
'stale' (not at risk: nothing escalates); when it speaks again the risk rule decides again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam

from services.common.errors import NotFound
from services.common.models import aware, utcnow
from services.goals.calendar import local_today
from services.goals.domain.machine_values import ensure_machine_fed, is_newer, keeps_version
from services.goals.evaluation import assess, store_assessment
from services.goals.handlers.check_ins import _record
from services.goals.handlers.shared import Deps, Uow, key_result_changed
from services.goals.messages import key_result_pb
from services.goals.models import KEY_RESULTS, RISK_COLUMNS, Cycle, KeyResult, Objective
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MACHINE_RECORDED_BY, Risk, week_of

_UPDATE = KEY_RESULTS.update().where(KEY_RESULTS.c.id == bindparam("row_id"))
_MACHINE_COLUMNS = (
    "machine_binding_id",
    "machine_sequence",
    "machine_stale",
    "machine_versioned_at",
    "updated_at",
    *RISK_COLUMNS,
)


async def _target(uow: Uow, kr_id: str) -> tuple[KeyResult, Objective, Cycle]:
    """The key result (locked) with its objective and cycle; it must be machine-fed."""
    target = (await uow.repo.check_in_targets([kr_id])).get(kr_id)
    if target is None:
        raise NotFound("key_result_not_found", "key result not found")
    ensure_machine_fed(target[0].data_source)
    return target


async def _save(uow: Uow, kr: KeyResult) -> None:
    conn = await uow.session.connection()
    await conn.execute(_UPDATE, {"row_id": kr.id, **{c: getattr(kr, c) for c in _MACHINE_COLUMNS}})


async def record(deps: Deps, request: pb.RecordMachineValueRequest) -> pb.KeyResult:
    async with deps.units() as uow:
        target = await _target(uow, request.key_result_id)
        kr, objective, cycle = target
        if not is_newer(
            kr.machine_binding_id, kr.machine_sequence, request.binding_id, request.sequence
        ):
            return key_result_pb(kr, objective.status)
        now = utcnow()
        week = week_of(local_today(now, cycle.time_zone))
        this_week = next((c for c in await uow.repo.check_in_rows(kr.id) if c.week == week), None)
        changed = this_week is None or this_week.value != request.value
        history = keeps_version(
            changed, aware(kr.machine_versioned_at), now, first_of_week=this_week is None
        )
        if changed:
            rules = await deps.rules.current(uow.repo)
            entry = pb.RecordCheckInRequest(
                key_result_id=kr.id, value=request.value, confidence=kr.confidence
            )
            await _record(
                uow,
                rules,
                target,
                entry,
                week,
                MACHINE_RECORDED_BY,
                machine=True,
                keep_version=history,
            )
            if kr.machine_stale:  # a value that raced the staleness flag: still not trusted
                kr.risk_status = Risk.STALE.value
        kr.machine_binding_id, kr.machine_sequence = request.binding_id, request.sequence
        if history:
            kr.machine_versioned_at = now
        kr.updated_at = now
        await _save(uow, kr)
        return key_result_pb(kr, objective.status)


async def set_stale(deps: Deps, request: pb.SetKeyResultStaleRequest) -> pb.KeyResult:
    async with deps.units() as uow:
        kr, objective, cycle = await _target(uow, request.key_result_id)
        if kr.machine_stale == request.stale:
            return key_result_pb(kr, objective.status)
        before = key_result_pb(kr, objective.status)
        kr.machine_stale = request.stale
        if request.stale:
            kr.risk_status = Risk.STALE.value
        else:
            rules = await deps.rules.current(uow.repo)
            checks: list[tuple[str, float]] = [
                (c.week, c.value) for c in await uow.repo.check_in_rows(kr.id)
            ]
            store_assessment(kr, assess(kr, cycle, checks, rules), rules.version)
        kr.updated_at = datetime.now(UTC)
        await _save(uow, kr)
        after = key_result_pb(kr, objective.status)
        action = "stale" if request.stale else "fresh"
        await key_result_changed(uow, action, "updated", after, before)
        return after
