"""Promotion reviews: apply, read and list cases, and every step of ``promotion/<case>``
through its validated Updates (endorse, panel, score, object, resolve an objection, decide,
withdraw); HR's eligibility rules.

Cases are read from the feedback service with the caller as the viewer (HR: every case; the
candidate, the applicant, the manager and the panel: their own; anyone else 404
``promotion_not_found`` like a missing case). A step goes to the workflow, whose Update
validator is the authority: its refusal codes (:data:`workflows.promotion_rules.ERROR_STATUS`)
are answered as problem+json — 403 (not the manager, HR only, not a panel member, a conflict
of interest, not the applicant, one's own case), 409 (wrong phase, ended, busy, already
scored, open objections, refused by the service), 422 (score range, panel size, a member
twice, no reason, outcome), 404 (objection). Any employee may object during the publicity
period without reading the case; an objection's author is shown to HR only.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import structlog
from fastapi import Query, Request, Response
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from gateway.convert import to_dict
from gateway.deps import Deps, Paging, PathId, RpcDep
from gateway.policy import ADMIN, HR
from gateway.problems import ProblemError
from gateway.routers.common import (
    created,
    temporal_client,
    temporal_problem,
    update_once_started,
)
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.promotions import (
    ApplyBody,
    CaseList,
    DecideBody,
    EligibilityRules,
    EndorseBody,
    ObjectionBody,
    ObjectionReceipt,
    PanelBody,
    PromotionCase,
    ResolveBody,
    ReviewState,
    RulesBody,
    ScoreBody,
    WithdrawBody,
)
from gateway.security import Access, Allow
from stride.feedback.v1 import promotions_pb2 as pb
from workflows import ids
from workflows.promotion_rules import (
    ERROR_ENDED,
    ERROR_STATUS,
    UPDATE_DECIDE,
    UPDATE_ENDORSE,
    UPDATE_OBJECT,
    UPDATE_RESOLVE,
    UPDATE_SCORE,
    UPDATE_SET_PANEL,
    UPDATE_WITHDRAW,
    Decide,
    Endorse,
    Objection,
    PromotionState,
    ResolveObjection,
    Score,
    SetPanel,
    Withdraw,
)
from workflows.vocabulary import PROMOTION_ENDED, PROMOTION_PHASES

log = structlog.get_logger(__name__)

router = ResourceRouter(tags=["promotions"], route_class=StrideRoute)

# A step waits for the feedback service to record it (the workflow's activity).
UPDATE_TIMEOUT = timedelta(seconds=60)
WORKFLOW_NOT_READY = "promotion_workflow_unavailable"
NOT_FOUND = "promotion_not_found"


def _problem(code: str) -> ProblemError:
    if code == WORKFLOW_NOT_READY:
        return ProblemError(503, code, "The review is not ready yet; retry shortly.")
    if code == NOT_FOUND:
        return ProblemError(404, code, "promotion case not found")
    return ProblemError(ERROR_STATUS[code], code, f"The review refused the step: {code}.")


def _refused(err: WorkflowUpdateFailedError) -> ProblemError:
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) else None
    if kind in ERROR_STATUS:
        return _problem(str(kind))
    return ProblemError(502, "promotion_workflow_failed", "The review's workflow failed.")


def _is_hr(access: Access) -> bool:
    return access.caller.has_role(HR) or access.caller.has_role(ADMIN)


async def _step(
    deps: Deps,
    case_id: str,
    update: str,
    arg: Any,
    *,
    case: pb.PromotionCase | None = None,
    missing: str = WORKFLOW_NOT_READY,
) -> PromotionState:
    """The workflow's Update ``update``. With the ``case`` as read from the service: an ended
    case is refused (409) without asking Temporal, and a workflow not started yet (the
    bridge starts it from the case's event a moment after the case was recorded) is waited
    for; without it (the caller may not read the case), a missing workflow is ``missing``."""
    if case is not None and case.status in PROMOTION_ENDED:
        raise _problem(ERROR_ENDED)
    client = await temporal_client(deps)
    handle = client.get_workflow_handle(ids.promotion(case_id))
    try:
        state = await update_once_started(
            handle,
            update,
            arg,
            result_type=PromotionState,
            rpc_timeout=UPDATE_TIMEOUT,
            patience=deps.workflow_start_patience if case is not None else 0.0,
        )
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc) from exc
    except Exception as exc:
        problem = temporal_problem(exc, _problem(missing))
        if problem.status >= 500:
            log.warning("promotion step failed", update=update, error=repr(exc))
        raise problem from exc
    return state


def _view(state: PromotionState, caller_id: str, hr: bool) -> dict[str, Any]:
    """The state as the caller may see it: objection authors and every score for HR only."""
    out = dataclasses.asdict(state)
    if not hr:
        out["scores"] = [s for s in out["scores"] if s["member_id"] == caller_id]
        out["mean_score"] = 0.0
        for o in out["objections"]:
            o["author_id"] = ""
    return out


async def _case(rpc: RpcDep, case_id: str, caller_id: str) -> pb.PromotionCase:
    """The case as the caller may read it (404 for anyone not in it and not HR)."""
    found: pb.PromotionCase = await rpc(
        rpc.promotions.GetCase, pb.GetCaseRequest(case_id=case_id, viewer_id=caller_id)
    )
    return found


# --- cases --------------------------------------------------------------------------------------
@router.post(
    "/promotions",
    status_code=201,
    response_model=PromotionCase,
    name="apply_for_promotion",
    description="Apply for a promotion: for yourself, or (as their direct manager) for a "
    "report. The review (promotion/<case>) starts by checking eligibility.",
)
async def apply(
    body: ApplyBody,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("promotion.apply"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.promotions.Apply,
        pb.ApplyRequest(
            applicant_id=access.caller.id,
            candidate_id=body.candidate_id,
            current_grade=body.current_grade,
            target_grade=body.target_grade,
        ),
    )
    created(request, response, "get_promotion", case_id=msg.id)
    return to_dict(msg)


@router.get(
    "/promotions",
    response_model=CaseList,
    name="list_promotions",
    description="HR: every case; anyone else: the cases they are the candidate, applicant, "
    "manager or a panel member of.",
)
async def list_cases(
    rpc: RpcDep,
    paging: Paging,
    status: str = Query(default="", description=f"One of {', '.join(PROMOTION_PHASES)}"),
    access: Access = Allow("promotion.read"),
) -> dict[str, Any]:
    if status and status not in PROMOTION_PHASES:
        raise ProblemError(422, "invalid_status", f"status must be one of {PROMOTION_PHASES}")
    msg = await rpc(
        rpc.promotions.ListCases,
        pb.ListCasesRequest(
            viewer_id=access.caller.id,
            status=status,
            page_size=paging.page_size,
            page_token=paging.page_token,
        ),
    )
    return {"items": [to_dict(c) for c in msg.cases], "next_page_token": msg.next_page_token}


@router.get("/promotions/{case_id}", response_model=PromotionCase, name="get_promotion")
async def get_case(
    case_id: PathId, rpc: RpcDep, access: Access = Allow("promotion.read")
) -> dict[str, Any]:
    return to_dict(await _case(rpc, case_id, access.caller.id))


# --- steps --------------------------------------------------------------------------------------
@router.post(
    "/promotions/{case_id}/endorsement",
    response_model=ReviewState,
    name="endorse_promotion",
    description="The candidate's manager endorses (→ panel) or declines (→ rejected).",
)
async def endorse(
    case_id: PathId,
    body: EndorseBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("promotion.endorse"),
) -> dict[str, Any]:
    case = await _case(rpc, case_id, access.caller.id)
    update = Endorse(access.caller.id, body.endorse, body.comment)
    return _view(
        await _step(deps, case_id, UPDATE_ENDORSE, update, case=case), access.caller.id, False
    )


@router.put(
    "/promotions/{case_id}/panel",
    response_model=ReviewState,
    name="set_promotion_panel",
    description="HR names the panel (no member in the candidate's reporting line, nor the "
    "candidate's manager: 403 conflict_of_interest); the members are invited to score.",
)
async def set_panel(
    case_id: PathId,
    body: PanelBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("promotion.panel"),
) -> dict[str, Any]:
    case = await _case(rpc, case_id, access.caller.id)
    update = SetPanel(access.caller.id, list(body.member_ids), _is_hr(access))
    state = await _step(deps, case_id, UPDATE_SET_PANEL, update, case=case)
    return _view(state, access.caller.id, _is_hr(access))


@router.post(
    "/promotions/{case_id}/scores",
    response_model=ReviewState,
    name="score_promotion",
    description="A panel member scores the candidate once.",
)
async def score(
    case_id: PathId,
    body: ScoreBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("promotion.score"),
) -> dict[str, Any]:
    case = await _case(rpc, case_id, access.caller.id)
    update = Score(access.caller.id, body.score, body.comment)
    return _view(
        await _step(deps, case_id, UPDATE_SCORE, update, case=case), access.caller.id, False
    )


@router.post(
    "/promotions/{case_id}/objections",
    status_code=201,
    response_model=ObjectionReceipt,
    name="object_to_promotion",
    description="Any employee but the candidate raises an objection during the publicity "
    "period (公示); HR is told and investigates. The author is shown to HR only.",
)
async def raise_objection(
    case_id: PathId,
    body: ObjectionBody,
    deps: Deps,
    access: Access = Allow("promotion.object"),
) -> dict[str, Any]:
    update = Objection(access.caller.id, body.reason)
    state = await _step(deps, case_id, UPDATE_OBJECT, update, missing=NOT_FOUND)
    mine = [o.number for o in state.objections if o.author_id == access.caller.id]
    return {"case_id": case_id, "number": mine[-1], "publicity_end": state.publicity_end}


@router.post(
    "/promotions/{case_id}/objections/{number}/resolution",
    response_model=ReviewState,
    name="resolve_promotion_objection",
    description="HR's investigation outcome: dismiss (the review goes on), or uphold: back "
    "to a new panel, or rejected.",
)
async def resolve_objection(
    case_id: PathId,
    number: int,
    body: ResolveBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("promotion.resolve"),
) -> dict[str, Any]:
    case = await _case(rpc, case_id, access.caller.id)
    update = ResolveObjection(
        access.caller.id, number, body.uphold, body.outcome or "", body.comment, _is_hr(access)
    )
    state = await _step(deps, case_id, UPDATE_RESOLVE, update, case=case)
    return _view(state, access.caller.id, _is_hr(access))


@router.post(
    "/promotions/{case_id}/decision",
    response_model=ReviewState,
    name="decide_promotion",
    description="HR approves or rejects once the publicity period is over and every "
    "objection is resolved; the candidate, manager and panel are told.",
)
async def decide(
    case_id: PathId,
    body: DecideBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("promotion.decide"),
) -> dict[str, Any]:
    case = await _case(rpc, case_id, access.caller.id)
    update = Decide(access.caller.id, body.approve, body.comment, _is_hr(access))
    state = await _step(deps, case_id, UPDATE_DECIDE, update, case=case)
    return _view(state, access.caller.id, _is_hr(access))


@router.post(
    "/promotions/{case_id}/withdrawal",
    response_model=ReviewState,
    name="withdraw_promotion",
    description="The candidate or the applicant withdraws the case at any point.",
)
async def withdraw(
    case_id: PathId,
    body: WithdrawBody,
    deps: Deps,
    rpc: RpcDep,
    access: Access = Allow("promotion.withdraw"),
) -> dict[str, Any]:
    case = await _case(rpc, case_id, access.caller.id)
    update = Withdraw(access.caller.id, body.reason)
    return _view(
        await _step(deps, case_id, UPDATE_WITHDRAW, update, case=case), access.caller.id, False
    )


# --- rules (HR) ---------------------------------------------------------------------------------
@router.get(
    "/promotion-rules",
    response_model=EligibilityRules,
    name="get_promotion_rules",
    dependencies=[Allow("promotion_rules.read")],
)
async def get_rules(rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.promotions.GetRules, pb.GetRulesRequest()))


@router.put(
    "/promotion-rules",
    response_model=EligibilityRules,
    name="put_promotion_rules",
    description="A new version of the eligibility rules (the last `ratings_count` final "
    "ratings at least `min_rating`, `min_tenure_months` since the hire date).",
)
async def put_rules(
    body: RulesBody, rpc: RpcDep, access: Access = Allow("promotion_rules.write")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.promotions.PutRules,
        pb.PutRulesRequest(
            actor_id=access.caller.id,
            min_rating=body.min_rating,
            ratings_count=body.ratings_count,
            min_tenure_months=body.min_tenure_months,
        ),
    )
    return to_dict(msg)
