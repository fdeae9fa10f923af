""" "Challenge this goal": threads on objectives their owner must answer (served by the
feedback service, which decides who reads each challenge; docs/feedback.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gateway.convert import to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import QueryBool
from gateway.schemas.feedback import (
    Challenge,
    ChallengeAnswer,
    ChallengePage,
    ChallengeRaise,
    ChallengeResolve,
    ChallengeStatusFilter,
)
from gateway.security import Access, Allow
from stride.feedback.v1 import feedback_pb2 as pb

router = ResourceRouter(tags=["challenges"], route_class=StrideRoute)

ChallengeStatus = Annotated[
    ChallengeStatusFilter, Query(description="only challenges in this status")
]


@router.post(
    "/objectives/{objective_id}/challenges",
    response_model=Challenge,
    status_code=201,
    name="raise_challenge",
    description="Challenges an objective the caller may read; its owner must answer.",
)
async def raise_challenge(
    objective_id: PathId,
    body: ChallengeRaise,
    rpc: RpcDep,
    access: Access = Allow("challenge.raise"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.RaiseChallenge,
        pb.RaiseChallengeRequest(
            objective_id=objective_id, challenger_id=access.caller.id, text=body.text
        ),
    )
    return to_dict(msg)


@router.get(
    "/objectives/{objective_id}/challenges",
    response_model=ChallengePage,
    name="list_objective_challenges",
    description="An objective's challenges, each as far as the caller may read it.",
)
async def list_objective_challenges(
    objective_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    status: ChallengeStatus = "",
    access: Access = Allow("objective.challenges"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.ListChallenges,
        pb.ListChallengesRequest(
            viewer_id=access.caller.id,
            objective_id=objective_id,
            status=status,
            page=paging.proto(),
        ),
    )
    return page(msg, "items")


@router.get(
    "/challenges",
    response_model=ChallengePage,
    name="list_challenges",
    description="Challenges the caller raised or must answer (default), those on one "
    "person's objectives (owner_id: all of them for the owner and their managers), or on "
    "the objectives of the caller's reports (reports=true).",
)
async def list_challenges(
    rpc: RpcDep,
    paging: Paging,
    status: ChallengeStatus = "",
    owner_id: FilterId = "",
    reports: Annotated[QueryBool, Query(description="on the caller's reports' goals")] = False,
    access: Access = Allow("challenge.list"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.ListChallenges,
        pb.ListChallengesRequest(
            viewer_id=access.caller.id,
            owner_id=owner_id,
            status=status,
            reports=reports,
            page=paging.proto(),
        ),
    )
    return page(msg, "items")


@router.get(
    "/challenges/{challenge_id}",
    response_model=Challenge,
    name="get_challenge",
    description="One challenge with its thread (others than its parties: 404).",
)
async def get_challenge(
    challenge_id: PathId, rpc: RpcDep, access: Access = Allow("challenge.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.GetChallenge,
        pb.GetChallengeRequest(id=challenge_id, viewer_id=access.caller.id),
    )
    return to_dict(msg)


@router.post(
    "/challenges/{challenge_id}/answer",
    response_model=Challenge,
    name="answer_challenge",
    description="The objective's owner answers; the challenge closes (others who may read "
    "it: 403 not_objective_owner; a closed one: 409 challenge_closed).",
)
async def answer_challenge(
    challenge_id: PathId,
    body: ChallengeAnswer,
    rpc: RpcDep,
    access: Access = Allow("challenge.answer"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.AnswerChallenge,
        pb.AnswerChallengeRequest(
            id=challenge_id, actor_id=access.caller.id, text=body.text, accepted=body.accepted
        ),
    )
    return to_dict(msg)


@router.post(
    "/challenges/{challenge_id}/resolve",
    response_model=Challenge,
    name="resolve_challenge",
    description="The objective's owner marks the challenge resolved (with an optional note).",
)
async def resolve_challenge(
    challenge_id: PathId,
    body: ChallengeResolve,
    rpc: RpcDep,
    access: Access = Allow("challenge.resolve"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.feedback.ResolveChallenge,
        pb.ResolveChallengeRequest(id=challenge_id, actor_id=access.caller.id, text=body.text),
    )
    return to_dict(msg)
