"""A 360 round's life through the feedback service's real gRPC API (real database, identity,
NATS): the events it emits, the idempotent steps its workflow calls, who may approve, one's
pending invitations, cancelling."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text

from stride.feedback.v1 import rounds_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import FeedbackStack, feedback_stack
from tests.integration.test_feedback_rounds import (
    DEADLINE,
    DUE,
    QUESTIONS,
    answer,
    make_org,
    refused,
    rounds_stub,
)


async def outbox(stack: FeedbackStack, subject: str) -> list[bytes]:
    engine = stack.runtimes["feedback"].engine
    assert engine is not None
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM outbox WHERE subject = :s ORDER BY id"), {"s": subject}
        )
        return [bytes(r[0]) for r in rows]


async def test_lifecycle_events_idempotent_steps_invitations_and_cancel(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        rounds = rounds_stub(stack)
        org = await make_org(identity_pb2_grpc.IdentityServiceStub(stack.identity))
        p = org.people
        template = await rounds.CreateTemplate(
            pb.CreateTemplateRequest(name="360", questions=QUESTIONS)
        )
        cycle = f"cycle-{uuid.uuid4().hex[:6]}"
        started = await rounds.StartRounds(
            pb.StartRoundsRequest(
                cycle_id=cycle,
                template_id=template.id,
                department_id=org.dept,
                deadline=DEADLINE,
                nominations_due=DUE,
            )
        )
        events = [
            pb.RoundStarted.FromString(x)
            for x in await outbox(stack, "stride.feedback.v1.round.started")
        ]
        mine = {e.round_id: e for e in events if e.cycle_id == cycle}
        assert set(mine) == {r.id for r in started.rounds}
        s_round = next(r for r in started.rounds if r.subject_id == p["S"])
        assert mine[s_round.id].manager_id == p["M"] and mine[s_round.id].deadline == DEADLINE

        await rounds.Nominate(
            pb.NominateRequest(round_id=s_round.id, actor_id=p["S"], peer_ids=[p["P1"], p["P2"]])
        )
        # Only the manager or HR approves; only nominees; then idempotent.
        approve = pb.ApproveNominationsRequest(
            round_id=s_round.id, approver_id=p["O"], rater_ids=[p["P1"]]
        )
        assert (await refused(rounds.ApproveNominations, approve))[1] == "not_approver"
        approve.approver_id = p["HR"]
        approve.rater_ids[:] = [p["O"]]
        assert (await refused(rounds.ApproveNominations, approve))[1] == "not_nominated"
        approve.rater_ids[:] = [p["P1"]]  # the manager leaves P2 out
        approved = await rounds.ApproveNominations(approve)
        assert approved.phase == "approved"
        assert {r.employee_id for r in approved.raters} == {p["S"], p["M"], p["P1"]}
        again = await rounds.ApproveNominations(approve)
        assert again.raters == approved.raters
        await rounds.MarkInvited(pb.MarkInvitedRequest(round_id=s_round.id))
        invited = await rounds.MarkInvited(pb.MarkInvitedRequest(round_id=s_round.id))
        assert invited.phase == "collecting"
        assert {r.status for r in invited.raters} == {"invited"}

        mine_p1 = await rounds.ListMyRounds(
            pb.ListMyRoundsRequest(rater_id=p["P1"], pending_only=True)
        )
        assert [r.id for r in mine_p1.rounds] == [s_round.id]
        assert [r.employee_id for r in mine_p1.rounds[0].raters] == [p["P1"]]
        assert not (
            await rounds.ListMyRounds(pb.ListMyRoundsRequest(rater_id=p["P2"], pending_only=True))
        ).rounds
        await answer(rounds, s_round.id, p["P1"], 4)
        assert not (
            await rounds.ListMyRounds(pb.ListMyRoundsRequest(rater_id=p["P1"], pending_only=True))
        ).rounds
        pending = await rounds.ListPendingRaters(pb.ListPendingRatersRequest(round_id=s_round.id))
        assert sorted(pending.employee_ids) == sorted([p["S"], p["M"]])

        await rounds.CloseRound(pb.CloseRoundRequest(round_id=s_round.id))
        closed = [
            pb.RoundClosed.FromString(x)
            for x in await outbox(stack, "stride.feedback.v1.round.closed")
        ]
        assert [(e.round_id, e.subject_id) for e in closed] == [(s_round.id, p["S"])]
        await rounds.CloseRound(pb.CloseRoundRequest(round_id=s_round.id))  # no second event
        assert len(await outbox(stack, "stride.feedback.v1.round.closed")) == 1
        assert (await refused(rounds.CancelRound, pb.CancelRoundRequest(round_id=s_round.id)))[
            1
        ] == "round_closed"

        # Cancelling: idempotent, and a cancelled round never releases anything.
        t_round = next(r for r in started.rounds if r.subject_id == p["R1"])
        assert (
            await rounds.CancelRound(pb.CancelRoundRequest(round_id=t_round.id))
        ).phase == "cancelled"
        assert (
            await rounds.CancelRound(pb.CancelRoundRequest(round_id=t_round.id))
        ).phase == "cancelled"
        assert (
            await rounds.CloseRound(pb.CloseRoundRequest(round_id=t_round.id))
        ).phase == "cancelled"
        res = await rounds.GetRoundResults(
            pb.GetRoundResultsRequest(round_id=t_round.id, viewer_id=p["R1"])
        )
        assert not res.released and not res.questions
