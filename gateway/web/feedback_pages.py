"""The feedback pages beyond ``/feedback`` (docs/web.md): requests for feedback, praise with
a badge, an objective's page (feedback about it, its challenges), goal challenges, upward
feedback, the 360 rater's answer form and a key result's coordination meeting.

As every page, these call the gateway's own API as the signed-in person; the feedback
service and the API's rules decide who may read and write what (anonymity included), and a
refusal is shown as the API gives it: a 4xx page with the problem's code, the form kept.

Longer than ~400 lines: seven small pages sharing the people picker, the tab bar and the
form-refusal handling; one module per page would repeat those.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.deps import PathId
from gateway.policy import WEB_PAGE
from gateway.security import Allow
from gateway.web.pages import INBOX_PAGE, Visit, as_number, current_cycle
from gateway.web.render import redirect
from gateway.web.session import ApiError, read_form
from workflows.vocabulary import (
    ASK_OPEN,
    CHALLENGE_OPEN,
    PRAISE_TAG_IMPROVEMENT,
    QUESTION_RATING,
    RATER_INVITED,
    RATING_MAX,
    RATING_MIN,
    ROUND_COLLECTING,
    SUBJECT_OBJECTIVE,
    SUBJECT_PERSON,
    VISIBILITY_PRAISE,
)

router = APIRouter(include_in_schema=False, dependencies=[Allow(WEB_PAGE)])


def _q(value: str) -> str:
    return quote(value, safe="")


async def _colleagues(visit: Visit) -> list[dict[str, Any]]:
    """The people a form offers (to ask, to praise): my department, my manager and my direct
    reports, by name; never myself."""
    me = visit.me
    lists = [visit.api.all_pages("/employees", manager_id=me["id"])]
    if me.get("department_id"):
        lists.append(visit.api.all_pages("/employees", department_id=me["department_id"]))
    found = {p["id"]: p for people in await asyncio.gather(*lists) for p in people}
    manager = await _manager_id(visit)
    if manager and manager not in found:
        found.update(await visit.people([manager]))
    found.pop(me["id"], None)
    return sorted(found.values(), key=lambda p: p["name"])


async def _manager_id(visit: Visit) -> str:
    """My direct manager's id ("" without one; /auth/me does not name it)."""
    me: dict[str, Any] = await visit.api.get(f"/employees/{visit.me['id']}")
    return str(me.get("manager_id", ""))


# -- requests for feedback --------------------------------------------------------------------


async def _my_objectives(visit: Visit) -> list[dict[str, Any]]:
    cycle = current_cycle(await visit.cycles())
    if not cycle:
        return []
    found: list[dict[str, Any]] = await visit.api.all_pages(
        "/objectives", cycle_id=cycle["id"], owner_id=visit.me["id"]
    )
    return found


async def _requests(
    visit: Visit, *, status: int = 200, focus: str = "", **context: Any
) -> Response:
    asked, mine = await asyncio.gather(
        visit.api.get("/feedback/requests", box="asked", page_size=INBOX_PAGE),
        visit.api.get("/feedback/requests", box="mine", page_size=INBOX_PAGE),
    )
    asked_items, mine_items = asked["items"], mine["items"]
    if focus and not any(r["id"] == focus for r in [*asked_items, *mine_items]):
        raise ApiError(
            404,
            {"code": "feedback_request_not_found", "detail": "feedback request not found"},
        )
    colleagues, objectives = await asyncio.gather(_colleagues(visit), _my_objectives(visit))
    people = {p["id"]: p for p in colleagues}
    unknown = {r["requester_id"] for r in asked_items} | {r["responder_id"] for r in mine_items}
    people.update(await visit.people(unknown - people.keys()))
    context.setdefault("error", None)
    context.setdefault("form", {})
    context.setdefault("answer_error", None)
    context.setdefault("answering", "")
    return visit.render(
        "feedback_requests.html",
        status=status,
        asked=asked_items,
        mine=mine_items,
        people=people,
        colleagues=colleagues,
        objectives=objectives,
        focus=focus,
        done=visit.request.query_params.get("done", ""),
        open_status=ASK_OPEN,
        **context,
    )


@router.get("/feedback/requests", name="web_feedback_requests")
async def feedback_requests(request: Request) -> Response:
    """Requests addressed to me (answer or decline) and mine, and the form to ask someone."""
    return await _requests(await Visit.start(request))


@router.get("/feedback/requests/{request_id}", name="web_feedback_request")
async def feedback_request(request: Request, request_id: PathId) -> Response:
    """One request (the inbox links here), shown among the others."""
    return await _requests(await Visit.start(request), focus=request_id)


@router.post("/feedback/requests", name="web_feedback_request_create")
async def request_feedback(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    about = form.get("about", "")
    body: dict[str, Any] = {
        "responder_id": form.get("responder", ""),
        "message": form.get("message", ""),
        "subject_kind": SUBJECT_OBJECTIVE if about else SUBJECT_PERSON,
        "subject_id": about,
    }
    try:
        await visit.api.post("/feedback/requests", body)
    except ApiError as exc:
        return await _requests(visit, status=exc.status, error=exc, form=form)
    return redirect(request, "/feedback/requests?done=asked")


@router.post("/feedback/requests/{request_id}/answer", name="web_feedback_request_answer")
async def answer_request(request: Request, request_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {
        "request_id": request_id,
        "text": form.get("text", ""),
        "share_with_manager": form.get("share_with_manager") == "1",
    }
    try:
        await visit.api.post("/feedback", body)
    except ApiError as exc:
        return await _requests(
            visit, status=exc.status, focus="", answer_error=exc, answering=request_id, form=form
        )
    return redirect(request, "/feedback/requests?done=answered")


@router.post("/feedback/requests/{request_id}/decline", name="web_feedback_request_decline")
async def decline_request(request: Request, request_id: PathId) -> Response:
    await read_form(request)
    visit = await Visit.start(request)
    await visit.api.post(f"/feedback/requests/{request_id}/decline", {})
    return redirect(request, "/feedback/requests?done=declined")


# -- praise -----------------------------------------------------------------------------------


async def _praise(visit: Visit, *, status: int = 200, **context: Any) -> Response:
    found, badges, colleagues = await asyncio.gather(
        visit.api.get("/praise", page_size=INBOX_PAGE),
        visit.api.get("/badges"),
        _colleagues(visit),
    )
    items = found["items"]
    people = {p["id"]: p for p in colleagues}
    missing = {i["author_id"] for i in items} | {i["about_id"] for i in items}
    people.update(await visit.people(missing - people.keys()))
    context.setdefault("error", None)
    context.setdefault("form", {})
    return visit.render(
        "praise.html",
        status=status,
        items=items,
        badges=badges["badges"],
        badge_names={b["id"]: b for b in badges["badges"]},
        people=people,
        colleagues=colleagues,
        improvement=PRAISE_TAG_IMPROVEMENT,
        sent=visit.request.query_params.get("sent") == "1",
        **context,
    )


@router.get("/praise", name="web_praise")
async def praise(request: Request) -> Response:
    """Praise my department sees, and the form to praise someone with a badge."""
    return await _praise(await Visit.start(request))


@router.post("/praise", name="web_praise_give")
async def give_praise(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {
        "subject_id": form.get("to", ""),
        "visibility": VISIBILITY_PRAISE,
        "badge_id": form.get("badge", ""),
        "text": form.get("text", ""),
        "tags": [PRAISE_TAG_IMPROVEMENT] if form.get("improvement") == "1" else [],
    }
    try:
        await visit.api.post("/feedback", body)
    except ApiError as exc:
        return await _praise(visit, status=exc.status, error=exc, form=form)
    return redirect(request, "/praise?sent=1")


# -- an objective: feedback about it and its challenges ----------------------------------------


async def _objective(visit: Visit, objective_id: str, *, status: int = 200, **ctx: Any) -> Response:
    objective = await visit.api.get(f"/objectives/{objective_id}")
    key_results, challenges = await asyncio.gather(
        visit.api.all_pages(f"/objectives/{objective_id}/key-results"),
        visit.api.get(f"/objectives/{objective_id}/challenges", page_size=INBOX_PAGE),
    )
    items = challenges["items"]
    people = await visit.people([objective["owner_id"], *(c["challenger_id"] for c in items)])
    for key in ("feedback_error", "challenge_error"):
        ctx.setdefault(key, None)
    ctx.setdefault("form", {})
    return visit.render(
        "objective.html",
        status=status,
        objective=objective,
        key_results=key_results,
        challenges=items,
        people=people,
        mine=objective["owner_id"] == visit.me["id"],
        done=visit.request.query_params.get("done", ""),
        **ctx,
    )


@router.get("/objectives/{objective_id}", name="web_objective")
@router.get("/objectives/{objective_id}/challenges", name="web_objective_challenges")
async def objective_page(request: Request, objective_id: PathId) -> Response:
    """An objective, its key results and challenges; others than its owner give feedback
    about it or challenge it (the challenge's inbox item links here)."""
    return await _objective(await Visit.start(request), objective_id)


@router.post("/objectives/{objective_id}/feedback", name="web_objective_feedback")
async def objective_feedback(request: Request, objective_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {
        "subject_kind": SUBJECT_OBJECTIVE,
        "subject_id": objective_id,
        "text": form.get("text", ""),
        "share_with_manager": form.get("share_with_manager") == "1",
    }
    try:
        await visit.api.post("/feedback", body)
    except ApiError as exc:
        return await _objective(
            visit, objective_id, status=exc.status, feedback_error=exc, form=form
        )
    return redirect(request, f"/objectives/{_q(objective_id)}?done=feedback")


@router.post("/objectives/{objective_id}/challenges", name="web_objective_challenge")
async def raise_challenge(request: Request, objective_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    try:
        found = await visit.api.post(
            f"/objectives/{objective_id}/challenges", {"text": form.get("challenge", "")}
        )
    except ApiError as exc:
        return await _objective(
            visit, objective_id, status=exc.status, challenge_error=exc, form=form
        )
    return redirect(request, f"/challenges/{_q(found['id'])}")


# -- goal challenges ------------------------------------------------------------------------


@router.get("/challenges", name="web_challenges")
async def challenges(request: Request) -> Response:
    """The challenges I raised or must answer (open first)."""
    visit = await Visit.start(request)
    items = (await visit.api.get("/challenges", page_size=INBOX_PAGE))["items"]
    items.sort(key=lambda c: (c["status"] != CHALLENGE_OPEN, c["created_at"]), reverse=False)
    objectives = await _objective_titles(visit, {c["objective_id"] for c in items})
    people = await visit.people(
        [*(c["challenger_id"] for c in items), *(c["owner_id"] for c in items)]
    )
    return visit.render(
        "challenges.html", items=items, objectives=objectives, people=people, me_id=visit.me["id"]
    )


async def _objective_titles(visit: Visit, ids: set[str]) -> dict[str, str]:
    async def one(objective_id: str) -> tuple[str, str]:
        try:
            return objective_id, (await visit.api.get(f"/objectives/{objective_id}"))["title"]
        except ApiError:
            return objective_id, ""

    return dict(await asyncio.gather(*(one(i) for i in sorted(ids))))


async def _challenge(visit: Visit, challenge_id: str, *, status: int = 200, **ctx: Any) -> Response:
    challenge = await visit.api.get(f"/challenges/{challenge_id}")
    titles = await _objective_titles(visit, {challenge["objective_id"]})
    people = await visit.people(
        [challenge["owner_id"], challenge["challenger_id"]]
        + [m["author_id"] for m in challenge["messages"]]
    )
    ctx.setdefault("error", None)
    ctx.setdefault("form", {})
    owner = challenge["owner_id"] == visit.me["id"]
    return visit.render(
        "challenge.html",
        status=status,
        challenge=challenge,
        title=titles.get(challenge["objective_id"], ""),
        people=people,
        may_answer=owner and challenge["status"] == CHALLENGE_OPEN,
        # Answering or resolving closes an open challenge (the owner's two ways to close it).
        may_resolve=owner and challenge["status"] == CHALLENGE_OPEN,
        **ctx,
    )


@router.get("/challenges/{challenge_id}", name="web_challenge")
async def challenge_page(request: Request, challenge_id: PathId) -> Response:
    return await _challenge(await Visit.start(request), challenge_id)


@router.post("/challenges/{challenge_id}/answer", name="web_challenge_answer")
async def answer_challenge(request: Request, challenge_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {"text": form.get("text", ""), "accepted": form.get("accepted") == "1"}
    try:
        await visit.api.post(f"/challenges/{challenge_id}/answer", body)
    except ApiError as exc:
        return await _challenge(visit, challenge_id, status=exc.status, error=exc, form=form)
    return redirect(request, f"/challenges/{_q(challenge_id)}")


@router.post("/challenges/{challenge_id}/resolve", name="web_challenge_resolve")
async def resolve_challenge(request: Request, challenge_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    try:
        await visit.api.post(f"/challenges/{challenge_id}/resolve", {"text": form.get("note", "")})
    except ApiError as exc:
        return await _challenge(visit, challenge_id, status=exc.status, error=exc, form=form)
    return redirect(request, f"/challenges/{_q(challenge_id)}")


# -- upward feedback ----------------------------------------------------------------------------


async def _upward(visit: Visit, *, status: int = 200, **ctx: Any) -> Response:
    manager_id = await _manager_id(visit)
    summary, people = await asyncio.gather(
        visit.api.get("/me/upward-feedback"), visit.people([manager_id])
    )
    people.update(await visit.people(n["author_id"] for n in summary["named"]))
    ctx.setdefault("error", None)
    ctx.setdefault("form", {})
    return visit.render(
        "upward.html",
        status=status,
        manager=people.get(manager_id),
        has_manager=bool(manager_id),
        summary=summary,
        people=people,
        sent=visit.request.query_params.get("sent", ""),
        **ctx,
    )


@router.get("/upward-feedback", name="web_upward_feedback")
async def upward_feedback(request: Request) -> Response:
    """Feedback to my manager (named or anonymous), and what my reports wrote to me this
    quarter (anonymous items only as the API releases them: an aggregate, no authors)."""
    return await _upward(await Visit.start(request))


@router.post("/upward-feedback", name="web_upward_feedback_give")
async def give_upward_feedback(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {"text": form.get("text", ""), "anonymous": form.get("anonymous") == "1"}
    try:
        receipt = await visit.api.post("/me/upward-feedback", body)
    except ApiError as exc:
        return await _upward(visit, status=exc.status, error=exc, form=form)
    kind = "anonymous" if receipt["anonymous"] else "named"
    return redirect(request, f"/upward-feedback?sent={kind}")


# -- 360 rounds: the rater's answer form -------------------------------------------------------


@router.get("/feedback-rounds", name="web_my_feedback_rounds")
async def my_feedback_rounds(request: Request) -> Response:
    """The 360 rounds I am invited to rate in: those waiting for my answers, then the others."""
    visit = await Visit.start(request)
    every = await visit.api.get("/me/feedback-rounds", pending="false")
    # Waiting for my answers (what the API's pending=true lists): collecting, and my own rater
    # entry (each round lists it, with its true status) still invited. One call, not two.
    me = visit.me["id"]
    waiting = {
        r["id"]
        for r in every["items"]
        if r["phase"] == ROUND_COLLECTING
        and any(x["employee_id"] == me and x["status"] == RATER_INVITED for x in r["raters"])
    }
    rounds = sorted(every["items"], key=lambda r: (r["id"] not in waiting, r["deadline"]))
    people = await visit.people(r["subject_id"] for r in rounds)
    return visit.render(
        "feedback_rounds.html",
        rounds=rounds,
        waiting=waiting,
        people=people,
        saved=request.query_params.get("saved") == "1",
    )


async def _feedback_round(
    visit: Visit, round_id: str, view: str, *, status: int = 200, **ctx: Any
) -> Response:
    round_ = await visit.api.get(f"/feedback-rounds/{round_id}")
    results = (
        await visit.api.get(f"/feedback-rounds/{round_id}/results") if view == "results" else None
    )
    people = await visit.people(
        [round_["subject_id"], round_["manager_id"], *(r["employee_id"] for r in round_["raters"])]
    )
    may_answer = False
    if view == "answers" and round_["phase"] == ROUND_COLLECTING:
        mine = await visit.api.get("/me/feedback-rounds", pending="false")
        may_answer = any(r["id"] == round_id for r in mine["items"])
    ctx.setdefault("error", None)
    ctx.setdefault("form", {})
    return visit.render(
        "feedback_round.html",
        status=status,
        round=round_,
        view=view,
        results=results,
        people=people,
        may_answer=may_answer,
        rating_kind=QUESTION_RATING,
        ratings=range(RATING_MIN, RATING_MAX + 1),
        **ctx,
    )


@router.get("/feedback-rounds/{round_id}", name="web_feedback_round")
async def feedback_round(request: Request, round_id: PathId) -> Response:
    return await _feedback_round(await Visit.start(request), round_id, "round")


@router.get("/feedback-rounds/{round_id}/answers", name="web_feedback_round_answers")
async def feedback_round_answers(request: Request, round_id: PathId) -> Response:
    """The round's questions; for its raters while answers are open, the answer form."""
    return await _feedback_round(await Visit.start(request), round_id, "answers")


@router.get("/feedback-rounds/{round_id}/results", name="web_feedback_round_results")
async def feedback_round_results(request: Request, round_id: PathId) -> Response:
    return await _feedback_round(await Visit.start(request), round_id, "results")


def _answers(form: dict[str, str], questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form's answers as the API takes them: a rating question's choice (missing ones go
    without a rating, which the API refuses by name), a text question's text when given."""
    answers: list[dict[str, Any]] = []
    for q in questions:
        value = form.get(f"q-{q['id']}", "").strip()
        if q["kind"] == QUESTION_RATING:
            answers.append({"question_id": q["id"], "rating": as_number(value) if value else None})
        elif value:
            answers.append({"question_id": q["id"], "text": value})
    return answers


@router.post("/feedback-rounds/{round_id}/answers", name="web_feedback_round_answer")
async def answer_feedback_round(request: Request, round_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    round_ = await visit.api.get(f"/feedback-rounds/{round_id}")
    try:
        await visit.api.put(
            f"/feedback-rounds/{round_id}/answers",
            {"answers": _answers(form, round_["questions"])},
        )
    except ApiError as exc:
        return await _feedback_round(
            visit, round_id, "answers", status=exc.status, error=exc, form=form
        )
    return redirect(request, "/feedback-rounds?saved=1")


# -- a key result's coordination meeting ------------------------------------------------------


async def _coordination(
    visit: Visit, key_result_id: str, *, status: int = 200, **ctx: Any
) -> Response:
    kr = await visit.api.get(f"/key-results/{key_result_id}")
    try:
        state: dict[str, Any] | None = await visit.api.get(
            f"/key-results/{key_result_id}/coordination"
        )
    except ApiError as exc:
        if exc.code != "coordination_not_found":
            raise
        state = None
    participants = [p["employee_id"] for p in (state or {}).get("participants", [])]
    people = await visit.people(
        [kr["owner_id"], *participants, *(o["by"] for o in (state or {}).get("outcomes", []))]
    )
    ctx.setdefault("error", None)
    ctx.setdefault("form", {})
    return visit.render(
        "coordination.html",
        status=status,
        kr=kr,
        state=state,
        people=people,
        departments=await visit.departments(),
        saved=visit.request.query_params.get("saved") == "1",
        **ctx,
    )


@router.get("/key-results/{key_result_id}/coordination", name="web_coordination")
async def coordination(request: Request, key_result_id: PathId) -> Response:
    """The key result's coordination meeting (called by its escalation when a blocker naming
    another department turns it red): who is invited, when, outcomes; the outcome form."""
    return await _coordination(await Visit.start(request), key_result_id)


@router.post("/key-results/{key_result_id}/coordination", name="web_coordination_outcome")
async def record_outcome(request: Request, key_result_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {"outcome": form.get("outcome", ""), "follow_up": form.get("follow_up", "")}
    try:
        await visit.api.post(f"/key-results/{key_result_id}/coordination/outcome", body)
    except ApiError as exc:
        return await _coordination(visit, key_result_id, status=exc.status, error=exc, form=form)
    return redirect(request, f"/key-results/{_q(key_result_id)}/coordination?saved=1")
