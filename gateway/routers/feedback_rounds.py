"""360 rounds: HR's question templates, starting rounds, a round, nominations, answers,
results, and one's pending invitations. (The manager approves the nominations through the
feedback-round workflow's Update, elsewhere.)

Who may see what of a round is decided by the feedback service on the round itself: these
routes pass the caller as the viewer, nominating subject or rater, and never anything more.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page, QueryBool
from gateway.schemas.feedback_rounds import (
    AnswersBody,
    NominationBody,
    QuestionBody,
    Round,
    RoundList,
    RoundResults,
    StartedRounds,
    StartRoundsBody,
    Template,
    TemplateBody,
)
from gateway.security import Access, Allow
from stride.feedback.v1 import rounds_pb2 as pb

router = ResourceRouter(tags=["feedback rounds"], route_class=StrideRoute)


def _questions(body: list[QuestionBody]) -> list[pb.Question]:
    return [
        pb.Question(
            id=q.id or "",
            kind=q.kind,
            text_zh=q.text_zh,
            text_en=q.text_en,
            anonymous=q.anonymous,
        )
        for q in body
    ]


# --- templates (HR) ----------------------------------------------------------------------------
@router.post(
    "/feedback-templates",
    status_code=201,
    response_model=Template,
    name="create_feedback_template",
    description="A 360 question template: ratings (1..5) and texts, each worded in zh-CN and "
    "en, anonymous (peers' and reports' answers only as aggregates) or named.",
    dependencies=[Allow("feedback_template.write")],
)
async def create_template(
    body: TemplateBody, rpc: RpcDep, request: Request, response: Response
) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.CreateTemplate,
        pb.CreateTemplateRequest(name=body.name, questions=_questions(body.questions)),
    )
    created(request, response, "get_feedback_template", template_id=msg.id)
    return to_dict(msg)


@router.get(
    "/feedback-templates",
    response_model=Page[Template],
    name="list_feedback_templates",
    dependencies=[Allow("feedback_template.read")],
)
async def list_templates(
    rpc: RpcDep, paging: Paging, include_archived: QueryBool = False
) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.ListTemplates,
        pb.ListTemplatesRequest(page=paging.proto(), include_archived=include_archived),
    )
    return page(msg, "templates")


@router.get(
    "/feedback-templates/{template_id}",
    response_model=Template,
    name="get_feedback_template",
    dependencies=[Allow("feedback_template.read")],
)
async def get_template(template_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.rounds.GetTemplate, pb.GetTemplateRequest(id=template_id)))


@router.put(
    "/feedback-templates/{template_id}",
    response_model=Template,
    name="update_feedback_template",
    description="Replaces the name and the questions. Running rounds keep the questions they "
    "copied when they started.",
    dependencies=[Allow("feedback_template.write")],
)
async def update_template(template_id: PathId, body: TemplateBody, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.UpdateTemplate,
        pb.UpdateTemplateRequest(
            id=template_id, name=body.name, questions=_questions(body.questions)
        ),
    )
    return to_dict(msg)


@router.delete(
    "/feedback-templates/{template_id}",
    response_model=Template,
    name="archive_feedback_template",
    description="Archives the template: no new round uses it (idempotent).",
    dependencies=[Allow("feedback_template.write")],
)
async def archive_template(template_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.rounds.DeleteTemplate, pb.DeleteTemplateRequest(id=template_id)))


# --- rounds ------------------------------------------------------------------------------------
@router.post(
    "/feedback-rounds",
    response_model=StartedRounds,
    name="start_feedback_rounds",
    description="One 360 round per active employee of the department (or of the whole "
    "organisation without `department_id`), with self, manager and direct reports as raters. "
    "Subjects who already have a round in the cycle are counted in `already`, not touched.",
    dependencies=[Allow("feedback_round.start")],
)
async def start_rounds(body: StartRoundsBody, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.StartRounds,
        pb.StartRoundsRequest(
            cycle_id=body.cycle_id,
            template_id=body.template_id,
            department_id=body.department_id,
            deadline=body.deadline.isoformat(),
            nominations_due=body.nominations_due.isoformat(),
        ),
    )
    return to_dict(msg)


@router.get(
    "/feedback-rounds/{round_id}",
    response_model=Round,
    name="get_feedback_round",
    description="For its subject, their manager, HR and its raters (others: 404). Raters are "
    "shown as far as the caller may see them; whether a peer or a report answered, never.",
)
async def get_round(
    round_id: PathId, rpc: RpcDep, access: Access = Allow("feedback_round.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.GetRound, pb.GetRoundRequest(round_id=round_id, viewer_id=access.caller.id)
    )
    return to_dict(msg)


@router.put(
    "/feedback-rounds/{round_id}/nominations",
    response_model=Round,
    name="nominate_feedback_raters",
    description="The subject names peers and direct reports (replacing earlier nominations) "
    "while the round is nominating; self and manager are always raters.",
)
async def nominate(
    round_id: PathId,
    body: NominationBody,
    rpc: RpcDep,
    access: Access = Allow("feedback_round.nominate"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.Nominate,
        pb.NominateRequest(
            round_id=round_id,
            actor_id=access.caller.id,
            peer_ids=body.peer_ids,
            report_ids=body.report_ids,
        ),
    )
    return to_dict(msg)


@router.put(
    "/feedback-rounds/{round_id}/answers",
    status_code=204,
    name="answer_feedback_round",
    description="The caller's answers as a rater (replacing earlier ones) while answers are "
    "open: every rating question needs a rating; texts are optional.",
)
async def answer(
    round_id: PathId,
    body: AnswersBody,
    rpc: RpcDep,
    access: Access = Allow("feedback_round.answer"),
) -> Response:
    await rpc(
        rpc.rounds.SubmitAnswers,
        pb.SubmitAnswersRequest(
            round_id=round_id,
            rater_id=access.caller.id,
            answers=[
                pb.Answer(question_id=a.question_id, rating=a.rating, text=a.text)
                for a in body.answers
            ],
        ),
    )
    return Response(status_code=204)


@router.get(
    "/feedback-rounds/{round_id}/results",
    response_model=RoundResults,
    name="get_feedback_round_results",
    description="For the subject, their manager and HR: what the anonymity rules released at "
    "close. Nothing before close; anonymous answers only as aggregates of at least the "
    "organisation's threshold of raters, and never with a rater.",
)
async def results(
    round_id: PathId, rpc: RpcDep, access: Access = Allow("feedback_round.results")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.GetRoundResults,
        pb.GetRoundResultsRequest(round_id=round_id, viewer_id=access.caller.id),
    )
    return to_dict(msg)


@router.get(
    "/me/feedback-rounds",
    response_model=RoundList,
    name="my_feedback_rounds",
    description="The 360 rounds the caller is invited to rate in and has not answered yet "
    "(`pending=false`: every round they rate in).",
)
async def my_rounds(
    rpc: RpcDep, pending: QueryBool = True, access: Access = Allow("feedback_round.mine")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.rounds.ListMyRounds,
        pb.ListMyRoundsRequest(rater_id=access.caller.id, pending_only=pending),
    )
    return {"items": [to_dict(r) for r in msg.rounds]}
