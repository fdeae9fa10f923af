"""Bulk check-ins, history, checklists and copying objectives: goals + identity over gRPC."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest

from services.common.db import schema_name
from services.common.nats import AUDIT_STREAM
from services.common.request_context import ACTOR_KEY, REQUEST_ID_KEY
from stride.audit.v1 import audit_pb2 as apb
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc
from tests.integration.goals_helpers import department, employee, events
from tests.integration.services_fixtures import service_settings
from tests.integration.test_goals_service import Q4_2025, code_of, make_kr, rpc_error
from tests.integration.test_goals_service import stack as stack  # the fixture


async def _goals_connection(database_url: str, data_dir: Path) -> asyncpg.Connection:
    """A connection of its own to goals' schema: another transaction beside the service's."""
    schema = schema_name(service_settings(database_url, data_dir, "nats://unused"), "goals")
    return await asyncpg.connect(
        database_url.replace("postgresql+asyncpg://", "postgresql://"),
        server_settings={"search_path": schema},
    )


async def _check_in_while_held(
    goals: goals_pb2_grpc.GoalsServiceStub,
    database_url: str,
    data_dir: Path,
    request: pb.RecordCheckInRequest,
    *statements: tuple[str, tuple[object, ...]],
) -> pb.CheckIn:
    """Record ``request`` while another transaction, which ran ``statements`` (SQL, arguments)
    on goals' tables, has not committed: the check-in must wait for it (it locks its key
    result), and goes through once that transaction commits."""
    holder = await _goals_connection(database_url, data_dir)
    try:
        tx = holder.transaction()
        await tx.start()
        for sql, args in statements:
            await holder.execute(sql, *args)
        waiting = asyncio.ensure_future(goals.RecordCheckIn(request))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # it waits for the key result's row
        await tx.commit()
        return await waiting
    finally:
        await holder.close()


async def test_bulk_check_in_is_all_or_nothing_and_keeps_history(stack, nats_url: str) -> None:
    identity, goals = stack
    dept = await department(identity, "Quality")
    helper_dept = await department(identity, "Engineering")
    owner = await employee(identity, dept)
    colleague = await employee(identity, dept)
    checklist = await goals.SetChecklist(
        pb.SetChecklistRequest(
            department_id=dept.id,
            items=[
                pb.ChecklistItem(
                    id="inspection-records", label_zh="检验记录完整", label_en="Inspection records"
                ),
                pb.ChecklistItem(
                    id="downtime-response",
                    label_zh="停机响应≤30分钟",
                    label_en="Downtime response <= 30 min",
                ),
            ],
        )
    )
    assert [i.id for i in checklist.items] == ["inspection-records", "downtime-response"]
    assert (await goals.GetChecklist(pb.GetChecklistRequest(department_id=dept.id))) == checklist
    cycle = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    objective = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Ship right first time",
            owner_id=owner.id,
            key_results=[
                pb.NewKeyResult(title="Pass rate", baseline=90, target=98, weight=50),
                pb.NewKeyResult(
                    title="8D reports",
                    kind=pb.KEY_RESULT_KIND_MILESTONE,
                    milestones=["Template", "Training", "First report"],
                    weight=30,
                ),
                pb.NewKeyResult(title="Gauge review", kind=pb.KEY_RESULT_KIND_BOOLEAN, weight=10),
                pb.NewKeyResult(
                    title="Someone else's", owner_id=colleague.id, baseline=0, target=5, weight=10
                ),
            ],
        )
    )
    krs = (
        await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=objective.id))
    ).key_results
    rate, steps, gauge, theirs = krs
    assert steps.target == 3 and gauge.target == 1 and theirs.owner_id == colleague.id

    def entry(kr, value, **kw):
        return pb.RecordCheckInRequest(key_result_id=kr.id, value=value, confidence=7, **kw)

    async def refused(*entries, code: str, status=grpc.StatusCode.INVALID_ARGUMENT) -> None:
        err = await rpc_error(
            goals.RecordCheckIns(
                pb.RecordCheckInsRequest(owner_id=owner.id, week="2025-W46", check_ins=entries)
            )
        )
        assert (err.code(), code_of(err)) == (status, code), err.details()

    await refused(entry(rate, 92), entry(steps, 4), code="milestone_out_of_range")
    await refused(entry(rate, 92), entry(gauge, 0.5), code="invalid_boolean_value")
    await refused(
        entry(rate, 92),
        entry(theirs, 1),
        code="not_owner",
        status=grpc.StatusCode.PERMISSION_DENIED,
    )
    await refused(entry(rate, 92), entry(rate, 93), code="duplicate_key_result")
    await refused(
        entry(rate, 92, answers=[pb.ChecklistAnswer(item_id="coffee", checked=True)]),
        code="unknown_checklist_item",
    )
    await refused(entry(rate, 92, blockers=[pb.Blocker(text=" ")]), code="blocker_text_required")
    for kr in (rate, steps, gauge):  # nothing was written
        listed = await goals.ListCheckIns(pb.ListCheckInsRequest(key_result_id=kr.id))
        assert list(listed.check_ins) == []

    done = await goals.RecordCheckIns(
        pb.RecordCheckInsRequest(
            owner_id=owner.id,
            week="2025-W46",
            recorded_by=owner.id,
            check_ins=[
                entry(
                    rate,
                    92,
                    note="Two lots rejected",
                    blockers=[pb.Blocker(text="Fixture worn", department_id=helper_dept.id)],
                    answers=[pb.ChecklistAnswer(item_id="inspection-records", checked=True)],
                ),
                entry(steps, 1),
                entry(gauge, 0),
            ],
        )
    )
    assert [c.key_result_id for c in done.check_ins] == [rate.id, steps.id, gauge.id]
    first = done.check_ins[0]
    assert first.week == "2025-W46" and first.revision == 1 and first.recorded_by == owner.id
    assert first.blockers[0].department_id == helper_dept.id
    assert first.answers[0].item_id == "inspection-records" and first.answers[0].checked
    assert first.score == pytest.approx(0.25) and done.check_ins[1].score == pytest.approx(1 / 3)

    # Re-submitting the week updates the check-in and keeps every version.
    again = await goals.RecordCheckIns(
        pb.RecordCheckInsRequest(
            owner_id=owner.id, week="2025-W46", check_ins=[entry(rate, 94), entry(gauge, 1)]
        )
    )
    assert again.check_ins[0].id == first.id and again.check_ins[0].revision == 2
    latest = await goals.ListCheckIns(pb.ListCheckInsRequest(key_result_id=rate.id))
    assert [(c.week, c.value) for c in latest.check_ins] == [("2025-W46", 94)]
    history = await goals.ListCheckInHistory(
        pb.ListCheckInHistoryRequest(key_result_id=rate.id, week="2025-W46")
    )
    assert [(c.revision, c.value, c.note) for c in history.check_ins] == [
        (1, 92, "Two lots rejected"),
        (2, 94, ""),
    ]
    current = await goals.GetKeyResult(pb.GetKeyResultRequest(id=rate.id))
    assert current.current_value == 94 and current.score == pytest.approx(0.5)
    assert current.confidence == 7 and current.last_check_in_week == "2025-W46"
    assert (await goals.GetKeyResult(pb.GetKeyResultRequest(id=gauge.id))).score == 1.0
    whole = await goals.GetObjective(pb.GetObjectiveRequest(id=objective.id))
    assert whole.score == pytest.approx(0.5 * 0.5 + 0.3 / 3 + 0.1 * 1)

    recorded = await events(
        nats_url,
        "stride.goals.v1.checkin.recorded",
        pb.CheckInRecorded,
        lambda e: e.key_result.objective_id == objective.id,
        expected=5,
    )
    assert len(recorded) == 5
    changed = await events(
        nats_url,
        "stride.goals.v1.kr.progress_changed",
        pb.KeyResultProgressChanged,
        lambda e: e.objective_id == objective.id,
        expected=4,
    )
    # rate 92 and 94, steps 1, gauge 1 (gauge 0 changed neither value nor score).
    assert sorted((e.key_result.title, e.key_result.current_value) for e in changed) == [
        ("8D reports", 1),
        ("Gauge review", 1),
        ("Pass rate", 92),
        ("Pass rate", 94),
    ]
    assert changed[-1].objective_score == pytest.approx(whole.score)


async def test_copy_objectives_into_the_next_cycle(stack) -> None:
    identity, goals = stack
    dept = await department(identity, "PMC")
    owner = await employee(identity, dept)
    other = await employee(identity, dept)
    q4 = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2025 Q4", start_date=Q4_2025[0], end_date=Q4_2025[1])
    )
    q1 = await goals.CreateCycle(
        pb.CreateCycleRequest(name="2026 Q1", start_date="2026-01-01", end_date="2026-03-31")
    )
    parent = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=q4.id,
            title="Stable schedule",
            owner_id=owner.id,
            level=pb.OBJECTIVE_LEVEL_DEPARTMENT,
            visibility=pb.VISIBILITY_PUBLIC,
        )
    )
    child = await goals.CreateObjective(
        pb.CreateObjectiveRequest(
            cycle_id=q4.id,
            title="Fewer plan changes",
            owner_id=owner.id,
            parent_id=parent.id,
            key_results=[
                pb.NewKeyResult(
                    title="Plan changes per month",
                    baseline=6,
                    target=2,
                    weight=100,
                    plan=[
                        pb.PlanPoint(date="2025-11-16", progress=0.3),
                        pb.PlanPoint(date="2025-12-31", progress=1),
                    ],
                )
            ],
        )
    )
    (old_kr,) = (
        await goals.ListKeyResults(pb.ListKeyResultsRequest(objective_id=child.id))
    ).key_results
    await goals.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=old_kr.id, value=4, week="2025-W46")
    )
    theirs = await goals.CreateObjective(
        pb.CreateObjectiveRequest(cycle_id=q4.id, title="Theirs", owner_id=other.id)
    )
    refused = await rpc_error(
        goals.CopyObjectives(
            pb.CopyObjectivesRequest(
                source_cycle_id=q4.id,
                target_cycle_id=q1.id,
                owner_id=owner.id,
                objective_ids=[child.id, theirs.id],
            )
        )
    )
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED and code_of(refused) == "not_owner"
    assert not (await goals.ListObjectives(pb.ListObjectivesRequest(cycle_id=q1.id))).objectives

    # Only the child: its link into the old cycle is dropped.
    alone = await goals.CopyObjectives(
        pb.CopyObjectivesRequest(
            source_cycle_id=q4.id,
            target_cycle_id=q1.id,
            owner_id=owner.id,
            objective_ids=[child.id],
        )
    )
    assert [o.parent_id for o in alone.objectives] == [""]

    copied = await goals.CopyObjectives(
        pb.CopyObjectivesRequest(source_cycle_id=q4.id, target_cycle_id=q1.id, owner_id=owner.id)
    )
    by_title = {o.title: o for o in copied.objectives}
    assert set(by_title) == {"Stable schedule", "Fewer plan changes"}
    new_parent, new_child = by_title["Stable schedule"], by_title["Fewer plan changes"]
    assert new_child.parent_id == new_parent.id  # remapped among the copies
    assert new_parent.visibility == pb.VISIBILITY_PUBLIC
    assert new_parent.level == pb.OBJECTIVE_LEVEL_DEPARTMENT
    for o in copied.objectives:
        assert o.cycle_id == q1.id and o.status == pb.OBJECTIVE_STATUS_DRAFT
        assert (o.start_date, o.end_date) == ("2026-01-01", "2026-03-31")
    (kr,) = copied.key_results
    assert kr.objective_id == new_child.id and kr.cycle_id == q1.id
    assert (kr.baseline, kr.target, kr.current_value, kr.weight) == (6, 2, 6, 100)
    assert kr.direction == pb.DIRECTION_DECREASE and kr.score == 0
    assert kr.risk.status == pb.RISK_STATUS_NO_DATA and kr.last_check_in_week == ""
    # The plan keeps its shape: same relative position in the new cycle.
    assert [(p.date, p.progress) for p in kr.plan] == [("2026-02-15", 0.3), ("2026-03-31", 1.0)]
    source = await goals.GetKeyResult(pb.GetKeyResultRequest(id=old_kr.id))
    assert source.current_value == 4  # the source is untouched

    await goals.CloseCycle(pb.CloseCycleRequest(id=q1.id))
    closed = await rpc_error(
        goals.CopyObjectives(
            pb.CopyObjectivesRequest(
                source_cycle_id=q4.id, target_cycle_id=q1.id, owner_id=owner.id
            )
        )
    )
    assert code_of(closed) == "cycle_closed"


async def test_a_check_in_waiting_for_the_key_results_lock_sees_what_the_holder_wrote(
    stack, database_url: str | None, data_dir
) -> None:
    """On PostgreSQL a check-in reads its key result's earlier check-ins in the same statement
    that locks the key result. When that lock had to wait for another transaction (here: one
    that records a later week by hand), what it wrote must count: the key result's value is
    the later week's, not the one of the check-in that waited."""
    if database_url is None:
        pytest.skip("row locks that make a check-in wait: PostgreSQL only")
    identity, goals = stack
    _dept, owner, _cycle, _objective, kr = await make_kr(identity, goals)
    recorded = await _check_in_while_held(
        goals,
        database_url,
        data_dir,
        pb.RecordCheckInRequest(key_result_id=kr.id, value=40, confidence=6, week="2025-W46"),
        ("SELECT id FROM key_results WHERE id = $1 FOR UPDATE", (kr.id,)),
        (
            "INSERT INTO check_ins (id, key_result_id, week, revision, value, confidence, note,"
            " risk_status, risk_progress, risk_expected_progress, risk_expected_value,"
            " risk_shortfall, risk_behind_streak, risk_rule_version, recorded_at, blockers,"
            " answers, score, recorded_by) VALUES ($1, $2, '2025-W48', 1, 64, 6, '', 'on_track',"
            " 0.64, 0.6, 60, 0, 0, 1, now(), '[]', '[]', 0.64, 'test')",
            (str(uuid.uuid4()), kr.id),
        ),
        (
            "UPDATE key_results SET current_value = 64, last_check_in_week = '2025-W48'"
            " WHERE id = $1",
            (kr.id,),
        ),
    )
    assert recorded.week == "2025-W46" and recorded.value == 40
    after = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert (after.current_value, after.last_check_in_week) == (64, "2025-W48")
    listed = await goals.ListCheckIns(pb.ListCheckInsRequest(key_result_id=kr.id))
    assert [(c.week, c.value) for c in listed.check_ins] == [("2025-W46", 40), ("2025-W48", 64)]
    assert owner.id == kr.owner_id


async def test_check_ins_of_one_key_result_at_the_same_moment_each_become_a_revision(
    stack, nats_url: str, database_url: str | None
) -> None:
    """Eight people's phones (or retries) send the same key result's check-in for the same week
    at once. Each is assessed after the one before it: on PostgreSQL all succeed (the key
    result's row lock orders them), as revisions 1 to 8 of the week's check-in; on SQLite
    (embedded mode, no row locks) one that collides is refused with 409-like ABORTED
    ``concurrent_check_in`` (retry) instead. Every saved one is kept in the history, the key
    result holds the last one's value, and each is published once, in revision order (the
    order the escalation bridge relies on)."""
    identity, goals = stack
    _dept, owner, _cycle, _objective, kr = await make_kr(identity, goals)
    values = [10.0 * i for i in range(1, 9)]
    outcomes = await asyncio.gather(
        *(
            goals.RecordCheckIn(
                pb.RecordCheckInRequest(
                    key_result_id=kr.id,
                    value=v,
                    confidence=6,
                    week="2025-W46",
                    actor=pb.CheckInActor(employee_id=owner.id),
                )
            )
            for v in values
        ),
        return_exceptions=True,
    )
    recorded = [o for o in outcomes if isinstance(o, pb.CheckIn)]
    refused = [o for o in outcomes if not isinstance(o, pb.CheckIn)]
    for err in refused:
        assert isinstance(err, grpc.aio.AioRpcError), err
        assert (err.code(), code_of(err)) == (grpc.StatusCode.ABORTED, "concurrent_check_in")
    if database_url is not None:
        assert refused == []
    assert recorded  # the first of them at least
    assert sorted(c.revision for c in recorded) == list(range(1, len(recorded) + 1))
    last = max(recorded, key=lambda c: c.revision)
    after = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert after.current_value == last.value
    history = await goals.ListCheckInHistory(
        pb.ListCheckInHistoryRequest(key_result_id=kr.id, week="2025-W46")
    )
    assert [(c.revision, c.value) for c in history.check_ins] == sorted(
        (c.revision, c.value) for c in recorded
    )
    published = await events(
        nats_url,
        "stride.goals.v1.checkin.recorded",
        pb.CheckInRecorded,
        lambda e: e.check_in.key_result_id == kr.id,
        expected=len(recorded),
    )
    assert [e.check_in.revision for e in published] == list(range(1, len(recorded) + 1))


async def test_a_check_in_is_assessed_against_what_another_transaction_changed_meanwhile(
    stack, database_url: str | None, data_dir, nats_url: str
) -> None:
    """On PostgreSQL another transaction changes a key result (its target, by hand) and has not
    committed when a check-in of it arrives: the check-in waits for it and is assessed against
    the new target — its score, the key result's and the published event say so — and it is
    recorded once (one version, one event, one audit entry)."""
    if database_url is None:
        pytest.skip("row locks that make a check-in wait: PostgreSQL only")
    identity, goals = stack
    _dept, owner, _cycle, _objective, kr = await make_kr(identity, goals, target=100)
    # Changed, not committed: the check-in cannot be assessed until this commits.
    recorded = await _check_in_while_held(
        goals,
        database_url,
        data_dir,
        pb.RecordCheckInRequest(
            key_result_id=kr.id,
            value=40,
            confidence=6,
            week="2025-W46",
            actor=pb.CheckInActor(employee_id=owner.id),
        ),
        ("UPDATE key_results SET target = 50 WHERE id = $1", (kr.id,)),
    )
    assert (recorded.revision, recorded.value) == (1, 40)
    assert recorded.score == pytest.approx(0.8)  # 40 of the new target 50, not of 100
    after = await goals.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert (after.target, after.current_value, after.score) == (50, 40, pytest.approx(0.8))
    history = await goals.ListCheckInHistory(pb.ListCheckInHistoryRequest(key_result_id=kr.id))
    assert [(c.revision, c.value) for c in history.check_ins] == [(1, 40)]
    published = await events(
        nats_url,
        "stride.goals.v1.checkin.recorded",
        pb.CheckInRecorded,
        lambda e: e.check_in.key_result_id == kr.id,
        expected=1,
    )
    assert [(e.check_in.score, e.key_result.target) for e in published] == [
        (pytest.approx(0.8), 50)
    ]
    audited = await events(
        nats_url,
        "stride.audit.v1.goals.recorded",
        apb.AuditRecorded,
        lambda e: e.entry.resource_id == recorded.id,
        expected=1,
        stream=AUDIT_STREAM,
    )
    assert [e.entry.action for e in audited] == ["goals.checkin.record"]


async def test_check_ins_arriving_together_share_a_transaction_and_keep_their_callers(
    stack, database_url: str | None, data_dir, nats_url: str
) -> None:
    """Check-ins that arrive while the goals service is busy writing others are written in one
    transaction (group commit, services/common/group_commit.py): here the first waits on its
    key result, which another transaction holds, so the five sent next queue and go together —
    their rows carry one transaction id. Each is still its caller's: its audit entry names its
    actor and request id, and the one whose sender does not own the key result is refused
    (403-like) while the others of its batch are recorded."""
    if database_url is None:
        pytest.skip("row locks that keep the service busy: PostgreSQL only")
    identity, goals = stack
    made = [await make_kr(identity, goals) for _ in range(6)]
    owners = [m[1] for m in made]
    krs = [m[4] for m in made]

    def send(i: int, actor_index: int | None = None) -> asyncio.Future[pb.CheckIn]:
        actor = owners[i if actor_index is None else actor_index]
        return asyncio.ensure_future(
            goals.RecordCheckIn(
                pb.RecordCheckInRequest(
                    key_result_id=krs[i].id,
                    value=10.0 * (i + 1),
                    confidence=7,
                    week="2025-W46",
                    actor=pb.CheckInActor(employee_id=actor.id),
                ),
                metadata=((ACTOR_KEY, f"employee:{actor.id}"), (REQUEST_ID_KEY, f"req-{i}")),
            )
        )

    holder = await _goals_connection(database_url, data_dir)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT id FROM key_results WHERE id = $1 FOR UPDATE", krs[0].id)
        first = [send(0)]  # a batch of its own, waiting for the holder
        await asyncio.sleep(0.5)
        later = [send(1), send(2), send(3), send(4, actor_index=2), send(5)]  # #4: not its owner
        await asyncio.sleep(0.5)
        assert not any(f.done() for f in first + later)
        await tx.commit()
        outcomes = await asyncio.gather(*first, *later, return_exceptions=True)
    finally:
        await holder.close()
    refused = outcomes[4]
    assert isinstance(refused, grpc.aio.AioRpcError)
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    recorded = [o for i, o in enumerate(outcomes) if i != 4]
    assert all(isinstance(o, pb.CheckIn) for o in recorded), recorded
    assert [o.value for o in recorded] == [10, 20, 30, 40, 60]  # type: ignore[union-attr]
    conn = await _goals_connection(database_url, data_dir)
    try:
        rows = await conn.fetch(
            "SELECT key_result_id, xmin::text AS tx FROM check_ins WHERE key_result_id = ANY($1)",
            [kr.id for kr in krs],
        )
    finally:
        await conn.close()
    tx_of = {r["key_result_id"]: r["tx"] for r in rows}
    assert krs[4].id not in tx_of  # refused: nothing written
    assert tx_of[krs[1].id] == tx_of[krs[2].id] == tx_of[krs[3].id] == tx_of[krs[5].id]
    assert tx_of[krs[0].id] != tx_of[krs[2].id]
    by_check_in = {o.id: i for i, o in enumerate(outcomes) if isinstance(o, pb.CheckIn)}
    audited = await events(
        nats_url,
        "stride.audit.v1.goals.recorded",
        apb.AuditRecorded,
        lambda e: e.entry.resource_id in by_check_in,
        expected=5,
        stream=AUDIT_STREAM,
    )
    assert sorted(
        (by_check_in[e.entry.resource_id], e.entry.actor, e.entry.request_id) for e in audited
    ) == [(i, f"employee:{owners[i].id}", f"req-{i}") for i in (0, 1, 2, 3, 5)]
