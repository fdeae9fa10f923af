"""Talent: high-potential suggestions HR computes, reads, confirms or dismisses, and the
managers' dimensions (goal challenge, progress transparency) — HR for every manager, a
department head for the managers in their departments, a manager for themselves. The
formulas: docs/talent.md."""

from __future__ import annotations

from typing import Any

from gateway.convert import to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page
from gateway.schemas.talent import (
    ManagerDimensions,
    Suggestion,
    SuggestionDecision,
    SuggestionsCompute,
    SuggestionsComputed,
    SuggestionStatusFilter,
)
from gateway.security import Access, Allow
from stride.feedback.v1 import talent_pb2 as pb

router = ResourceRouter(tags=["talent"], route_class=StrideRoute)


@router.post(
    "/cycles/{cycle_id}/talent-suggestions/compute",
    response_model=SuggestionsComputed,
    name="compute_talent_suggestions",
    description="Computes the cycle's high-potential suggestions (of one department or the "
    "organisation) from goal-achievement stability, innovation contribution and the latest "
    "final rating. Idempotent: HR's decisions are kept.",
)
async def compute_suggestions(
    cycle_id: PathId,
    body: SuggestionsCompute,
    rpc: RpcDep,
    access: Access = Allow("talent.suggestions.compute"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.talent.ComputeSuggestions,
        pb.ComputeSuggestionsRequest(
            cycle_id=cycle_id, department_id=body.department_id, actor_id=access.caller.id
        ),
    )
    return to_dict(msg)


@router.get(
    "/cycles/{cycle_id}/talent-suggestions",
    response_model=Page[Suggestion],
    name="list_talent_suggestions",
    dependencies=[Allow("talent.suggestions.list")],
)
async def list_suggestions(
    cycle_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    department_id: FilterId = "",
    status: SuggestionStatusFilter = "",
) -> dict[str, Any]:
    msg = await rpc(
        rpc.talent.ListSuggestions,
        pb.ListSuggestionsRequest(
            cycle_id=cycle_id, department_id=department_id, status=status, page=paging.proto()
        ),
    )
    return page(msg, "suggestions")


@router.post(
    "/talent-suggestions/{suggestion_id}/confirm",
    response_model=Suggestion,
    name="confirm_talent_suggestion",
    description="HR confirms the suggestion, with a reason (409 suggestion_decided when it was "
    "dismissed already).",
)
async def confirm_suggestion(
    suggestion_id: PathId,
    body: SuggestionDecision,
    rpc: RpcDep,
    access: Access = Allow("talent.suggestion.confirm"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.talent.ConfirmSuggestion,
        pb.DecideSuggestionRequest(id=suggestion_id, actor_id=access.caller.id, reason=body.reason),
    )
    return to_dict(msg)


@router.post(
    "/talent-suggestions/{suggestion_id}/dismiss",
    response_model=Suggestion,
    name="dismiss_talent_suggestion",
    description="HR dismisses the suggestion, with a reason (409 suggestion_decided when it was "
    "confirmed already).",
)
async def dismiss_suggestion(
    suggestion_id: PathId,
    body: SuggestionDecision,
    rpc: RpcDep,
    access: Access = Allow("talent.suggestion.dismiss"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.talent.DismissSuggestion,
        pb.DecideSuggestionRequest(id=suggestion_id, actor_id=access.caller.id, reason=body.reason),
    )
    return to_dict(msg)


@router.get(
    "/cycles/{cycle_id}/managers/{employee_id}/dimensions",
    response_model=ManagerDimensions,
    name="get_manager_dimensions",
    description="A manager's goal challenge (share of stretch objectives, ambition of targets) "
    "and progress transparency (on-time weekly check-ins, theirs and their team's) in a cycle.",
    dependencies=[Allow("talent.manager_dimensions")],
)
async def manager_dimensions(cycle_id: PathId, employee_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.talent.GetManagerDimensions,
        pb.GetManagerDimensionsRequest(cycle_id=cycle_id, manager_id=employee_id),
    )
    return to_dict(msg)
