"""The web app's pages (server-rendered; see docs/web.md).

Every page reads and writes through the gateway's own API (:class:`gateway.web.session.Api`)
as the signed-in person, so what a page shows is what the API answers that person. The
routes declare the rule :data:`gateway.policy.WEB_PAGE` and stay out of the OpenAPI
document.

Longer than ~400 lines: one module per page would scatter the shared page helpers
(:class:`Visit`, the current cycle, the people and department names) for a handful of lines
each; the pages are grouped below by the order of the issue (sign-in, my OKRs, check-in,
approvals and team, e-mail links, dashboards, QR sheet).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from gateway.deps import PathId
from gateway.policy import ADMIN, EXECUTIVE, HR, WEB_PAGE
from gateway.security import Allow
from gateway.web import board, charts, qr
from gateway.web.i18n import LANGUAGE_COOKIE
from gateway.web.i18n import language as language_of
from gateway.web.render import redirect, render
from gateway.web.session import (
    Api,
    ApiError,
    end_session,
    finish,
    forget_session,
    read_form,
    safe_next,
    set_cookie,
    store_tokens,
)
from services.common.paging import DEFAULT_PAGE_SIZE
from services.common.pilot import PilotDepartment, enabled_departments, person_in_pilot
from services.goals.domain import MAX_KEY_RESULT_OWNERS
from workflows.vocabulary import (
    DATA_SOURCE_TELEMETRY,
    DEFAULT_TIME_ZONE,
    LANGUAGES,
    MONTH_PATTERN,
    ObjectiveStatus,
)

router = APIRouter(include_in_schema=False, dependencies=[Allow(WEB_PAGE)])

# Organisation-wide readers: their dashboard is the whole organisation's.
_ORGANISATION_ROLES = frozenset({HR, ADMIN, EXECUTIVE})

# The check-in on a shared device (the QR codes open it): signs its person out after recording.
SHARED_CHECK_IN = "/check-in?shared=1"
# The sign-in of a shared device: employee number + PIN, then SHARED_CHECK_IN (or, with
# then=inspection, the line's daily inspection: SHARED_INSPECTION).
PIN_SIGN_IN = "/pin-sign-in"
SHARED_INSPECTION = "/inspection?shared=1"
# What a shared device opens after the PIN sign-in (the `then` of its QR code's link).
THEN_INSPECTION = "inspection"
# The inbox page shows the newest items only.
INBOX_PAGE = 50


@dataclass
class Visit:
    """One signed-in page view: the API as the visitor, and who they are."""

    request: Request
    api: Api
    me: dict[str, Any]
    _departments: dict[str, dict[str, Any]] | None = field(default=None, init=False)

    @classmethod
    async def start(cls, request: Request) -> Visit:
        api = Api.of(request)
        return cls(request, api, await api.get("/auth/me"))

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        return render(self.request, template, status=status, me=self.me, **context)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.me.get("roles", []))

    async def cycles(self) -> list[dict[str, Any]]:
        cycles = await self.api.all_pages("/cycles")
        return sorted(cycles, key=lambda c: c["start_date"], reverse=True)

    async def cycle(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The cycle a page is about (``?cycle=`` or the current one) and all cycles. With
        several open cycles holding today (a department's own beside the company's), the
        current one is the first of them — latest start first — where the visitor has key
        results."""
        cycles = await self.cycles()
        wanted = self.request.query_params.get("cycle", "")
        chosen = next((c for c in cycles if c["id"] == wanted), None)
        if chosen:
            return chosen, cycles
        running = cycles_holding_today(cycles)
        if len(running) > 1:
            for candidate in running:
                mine = await self.api.get("/key-results", cycle_id=candidate["id"], page_size=1)
                if mine["items"]:
                    return candidate, cycles
        return current_cycle(cycles), cycles

    async def departments(self) -> dict[str, dict[str, Any]]:
        if self._departments is None:
            found = await self.api.all_pages("/departments")
            self._departments = {d["id"]: d for d in found}
        return self._departments

    async def in_pilot(self) -> bool:
        """Whether the visitor is in the pilot (:mod:`services.common.pilot`: their department
        and every one above it have Stride enabled). Out of it, pages show no prompts."""
        departments = await self.departments()
        enabled = enabled_departments(
            PilotDepartment(d["id"], d.get("parent_id", ""), d.get("stride_enabled", True))
            for d in departments.values()
        )
        return person_in_pilot(self.me.get("department_id", ""), enabled)

    async def people(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """id → employee, for those the visitor may read (others are left out)."""
        wanted = sorted({i for i in ids if i})

        async def one(employee_id: str) -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = await self.api.get(f"/employees/{employee_id}")
                return found
            except ApiError:
                return None

        found = await asyncio.gather(*(one(i) for i in wanted))
        return {e["id"]: e for e in found if e}


def cycles_holding_today(
    cycles: list[dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """The open cycles whose dates hold today (each in its time zone), latest start first."""
    now = now or datetime.now(ZoneInfo(DEFAULT_TIME_ZONE))
    found = []
    open_ = [c for c in cycles if c.get("status") == "open"]
    for c in sorted(open_, key=lambda c: c["start_date"], reverse=True):
        try:
            zone = ZoneInfo(c.get("time_zone") or DEFAULT_TIME_ZONE)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(DEFAULT_TIME_ZONE)
        today = now.astimezone(zone).date().isoformat()
        if c["start_date"] <= today <= c["end_date"]:
            found.append(c)
    return found


def current_cycle(
    cycles: list[dict[str, Any]], now: datetime | None = None
) -> dict[str, Any] | None:
    """The open cycle whose dates hold today (in its time zone), else the open cycle that
    started last, else the latest cycle."""
    if not cycles:
        return None
    running = cycles_holding_today(cycles, now)
    if running:
        return running[0]
    open_ = [c for c in cycles if c.get("status") == "open"]
    return max(open_ or cycles, key=lambda c: c["start_date"])


# -- sign-in, password, sign-out, language ----------------------------------------------------


@router.get("/", name="web_home")
async def home(request: Request) -> Response:
    return redirect(request, "/okrs")


@router.get("/sign-in", name="web_sign_in")
async def sign_in_page(request: Request, next: str = "", done: str = "") -> Response:
    # done: the check-in just recorded on a shared device (its person signed out).
    recorded = int(done) if done.isdigit() else 0
    return render(
        request, "sign_in.html", next=safe_next(next), login="", error="", recorded=recorded
    )


@router.post("/sign-in", name="web_sign_in_post")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    login = form.get("login", "").strip()
    api = Api(request, anonymous=True)
    r = await api.call(
        "POST", "/auth/login", json={"login": login, "password": form.get("password", "")}
    )
    if r.status_code != 200:
        problem = r.json()
        return render(
            request,
            "sign_in.html",
            status=r.status_code,
            next=target,
            login=login,
            error=problem.get("code", ""),
            recorded=0,
        )
    tokens = r.json()
    store_tokens(request, tokens)
    if tokens["must_change_password"]:
        return redirect(request, f"/password?next={target}")
    return redirect(request, target)


def pin_sign_in_url(
    department: str = "", done: int = 0, *, then: str = "", inspected: bool = False
) -> str:
    query = []
    if department:
        query.append(f"department={quote(department, safe='')}")
    if then == THEN_INSPECTION:
        query.append(f"then={THEN_INSPECTION}")
    if done:
        query.append(f"done={done}")
    if inspected:
        query.append("inspected=1")
    return PIN_SIGN_IN + (f"?{'&'.join(query)}" if query else "")


def shared_page_url(department: str, then: str) -> str:
    """Where a shared device goes after the PIN sign-in: the check-in, or the inspection."""
    target = SHARED_INSPECTION if then == THEN_INSPECTION else SHARED_CHECK_IN
    return target + (f"&department={quote(department, safe='')}" if department else "")


@router.get(PIN_SIGN_IN, name="web_pin_sign_in")
async def pin_sign_in_page(
    request: Request, department: str = "", done: str = "", then: str = "", inspected: str = ""
) -> Response:
    """A shared device's sign-in (the printed QR codes open it): employee number + PIN, then
    the person's check-in (or, ``then=inspection``, the line's daily inspection); ``done``:
    the check-ins just recorded, ``inspected``: the inspection just recorded (its person
    signed out)."""
    return render(
        request,
        "pin_sign_in.html",
        department=department,
        then=then if then == THEN_INSPECTION else "",
        next_page=shared_page_url(department, then),
        employee_number="",
        error="",
        recorded=int(done) if done.isdigit() else 0,
        inspected=inspected == "1",
    )


@router.post(PIN_SIGN_IN, name="web_pin_sign_in_post")
async def pin_sign_in(request: Request) -> Response:
    form = await read_form(request)
    department = form.get("department", "")
    then = form.get("then", "")
    number = form.get("employee_number", "").strip()
    api = Api(request, anonymous=True)
    # The previous person's session, if any, ends before the next one begins.
    forget_session(request)
    r = await api.call(
        "POST", "/auth/pin", json={"employee_number": number, "pin": form.get("pin", "")}
    )
    if r.status_code != 200:
        return render(
            request,
            "pin_sign_in.html",
            status=r.status_code,
            department=department,
            then=then if then == THEN_INSPECTION else "",
            next_page=shared_page_url(department, then),
            employee_number=number,
            error=r.json().get("code", ""),
            recorded=0,
            inspected=False,
        )
    store_tokens(request, r.json())
    return redirect(request, shared_page_url(department, then))


@router.get("/password", name="web_password")
async def password_page(request: Request, next: str = "") -> Response:
    Api.of(request)  # signed in (possibly with a password that must change)
    return render(request, "password.html", next=safe_next(next), error="", errors=[])


@router.post("/password", name="web_password_post")
async def change_password(request: Request) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    api = Api.of(request)
    body = {
        "current_password": form.get("current_password", ""),
        "new_password": form.get("new_password", ""),
    }
    try:
        tokens = await api.post("/auth/password", body)
    except ApiError as exc:
        return render(
            request,
            "password.html",
            status=exc.status,
            next=target,
            error=exc.code,
            errors=[message for _, message in exc.field_errors()],
        )
    store_tokens(request, tokens)
    return redirect(request, target)


@router.get("/pin", name="web_pin")
async def pin_page(request: Request) -> Response:
    """Set my PIN (for the shared devices), with my password."""
    visit = await Visit.start(request)
    return visit.render(
        "pin.html", error="", errors=[], saved=bool(request.query_params.get("saved"))
    )


@router.post("/pin", name="web_pin_post")
async def set_pin(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {"current_password": form.get("current_password", ""), "pin": form.get("pin", "")}
    try:
        await visit.api.put("/me/pin", body)
    except ApiError as exc:
        errors = [message for _, message in exc.field_errors()]
        return visit.render(
            "pin.html", status=exc.status, error=exc.code, errors=errors, saved=False
        )
    return redirect(request, "/pin?saved=1")


@router.post("/sign-out", name="web_sign_out")
async def sign_out(request: Request) -> Response:
    form = await read_form(request)
    await end_session(request)
    if form.get("shared"):  # a shared device: back to its PIN sign-in
        return redirect(
            request, pin_sign_in_url(form.get("department", ""), then=form.get("then", ""))
        )
    return redirect(request, "/sign-in")


@router.get("/language", name="web_language")
async def switch_language(request: Request, lang: str = "", next: str = "") -> Response:
    response = redirect(request, safe_next(next))
    if lang in LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600)
    return response


# -- my OKRs ----------------------------------------------------------------------------------


@router.get("/okrs", name="web_okrs")
@router.get("/objectives", name="web_objectives")
async def my_okrs(request: Request) -> Response:
    visit = await Visit.start(request)
    cycle, cycles = await visit.cycle()
    objectives: list[dict[str, Any]] = []
    key_results: list[dict[str, Any]] = []
    if cycle:
        objectives, key_results = await asyncio.gather(
            visit.api.all_pages("/objectives", cycle_id=cycle["id"], owner_id=visit.me["id"]),
            visit.api.all_pages("/key-results", cycle_id=cycle["id"]),
        )
    by_objective: dict[str, list[dict[str, Any]]] = {}
    for kr in key_results:
        by_objective.setdefault(kr["objective_id"], []).append(kr)
    mine = {o["id"] for o in objectives}
    # Key results the visitor owns under someone else's objective.
    others = [kr for kr in key_results if kr["objective_id"] not in mine]
    copied = request.query_params.get("copied", "")
    # Out of the pilot: no prompts (check in, copy last cycle's goals), a notice instead.
    pilot = await visit.in_pilot()
    return visit.render(
        "okrs.html",
        cycle=cycle,
        cycles=cycles,
        objectives=objectives,
        by_objective=by_objective,
        others=others,
        previous=previous_cycle(cycles, cycle) if cycle and not objectives and pilot else None,
        copied=int(copied) if copied.isdigit() else None,
        in_pilot=pilot,
    )


def previous_cycle(cycles: list[dict[str, Any]], cycle: dict[str, Any]) -> dict[str, Any] | None:
    """The cycle that started last before ``cycle`` (whose goals people copy into it)."""
    earlier = [c for c in cycles if c["start_date"] < cycle["start_date"]]
    return max(earlier, key=lambda c: c["start_date"]) if earlier else None


@router.post("/okrs/copy", name="web_okrs_copy")
async def copy_goals(request: Request) -> Response:
    """Copy my objectives of one cycle into another, as drafts."""
    form = await read_form(request)
    visit = await Visit.start(request)
    target = form.get("target", "")
    body = {"source_cycle_id": form.get("source", ""), "target_cycle_id": target}
    result = await visit.api.post("/objectives/copy", body)
    count = len(result["objectives"])
    return redirect(request, f"/okrs?cycle={quote(target, safe='')}&copied={count}")


# -- the weekly check-in ----------------------------------------------------------------------


def _machine_fed(kr: dict[str, Any]) -> bool:
    return bool(kr.get("data_source") == DATA_SOURCE_TELEMETRY)


def read_only_reason(kr: dict[str, Any]) -> str:
    """Why people do not check in on ``kr`` (a catalogue key), or "" when they do: the goals
    service refuses check-ins on machine-fed key results and under closed objectives, and
    one refused entry would refuse the whole bulk check-in."""
    if _machine_fed(kr):
        return "check_in.machine_fed"
    if kr.get("objective_status") == ObjectiveStatus.CLOSED:
        return "check_in.objective_closed"
    return ""


def _checklist_field(department_id: str, item_id: str) -> str:
    return f"checklist-{department_id}-{item_id}"


def _entry(
    form: dict[str, str], kr: dict[str, Any], checklists: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """One key result's check-in from the form (values as typed: the API validates). The
    checklist of the key result's department is answered once on the page and goes with each
    of that department's check-ins (every item: ticked or not)."""
    prefix = f"kr-{kr['id']}-"
    entry: dict[str, Any] = {
        "key_result_id": kr["id"],
        "value": as_number(form.get(prefix + "value", "")),
        "confidence": as_number(form.get(prefix + "confidence", "")),
        "note": form.get(prefix + "note", "").strip(),
    }
    blocker = form.get(prefix + "blocker", "").strip()
    if blocker:
        entry["blockers"] = [
            {"text": blocker, "department_id": form.get(prefix + "blocker_department", "")}
        ]
    department = kr["department_id"]
    items = checklists.get(department, [])
    if items:
        entry["answers"] = [
            {"item_id": i["id"], "checked": _checklist_field(department, i["id"]) in form}
            for i in items
        ]
    return entry


def as_number(text: str) -> Any:
    """A form's number as JSON (an int when whole); unparseable text goes to the API as is,
    which refuses it with its own 422."""
    try:
        number = float(text.strip())
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


async def _checklists(visit: Visit, key_results: list[dict[str, Any]]) -> dict[str, Any]:
    """department id → its checklist's items, for the departments of the key results people
    check in on (departments without a checklist left out)."""
    wanted = sorted({kr["department_id"] for kr in key_results if not read_only_reason(kr)})
    found = await asyncio.gather(
        *(visit.api.get(f"/departments/{d}/checklist") for d in wanted if d)
    )
    return {c["department_id"]: c["items"] for c in found if c["items"]}


@router.get("/check-in", name="web_check_in")
@router.get("/check-ins", name="web_check_ins")
async def check_in_page(request: Request) -> Response:
    if request.query_params.get("shared"):
        # A shared device whose session ended goes back to its PIN sign-in.
        request.state.pin_sign_in = pin_sign_in_url(request.query_params.get("department", ""))
    visit = await Visit.start(request)
    return await _check_in(visit, {}, None)


def _check_in_errors(
    error: ApiError, entries: list[dict[str, Any]], titles: dict[str, str]
) -> list[str]:
    """The refused fields of a bulk check-in, named by key result (``check_ins.2.value`` →
    "Scrap rate: value …")."""
    lines = []
    for where, message in error.field_errors():
        parts = where.split(".")
        if len(parts) >= 2 and parts[0] == "check_ins" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(entries):
                title = titles.get(entries[index]["key_result_id"], "")
                where = ".".join([title, *parts[2:]])
        lines.append(f"{where}: {message}" if where else message)
    return lines


async def _check_in(
    visit: Visit,
    form: dict[str, str],
    error: ApiError | None,
    *,
    cycle_id: str = "",
    error_lines: list[str] | None = None,
) -> Response:
    cycle, cycles = await visit.cycle()
    if cycle_id:
        cycle = next((c for c in cycles if c["id"] == cycle_id), cycle)
    key_results = await visit.api.all_pages("/key-results", cycle_id=cycle["id"]) if cycle else []
    departments = await visit.departments()
    done = visit.request.query_params.get("done", "")
    return visit.render(
        "check_in.html",
        status=error.status if error else 200,
        cycle=cycle,
        cycles=cycles,
        key_results=key_results,
        read_only={kr["id"]: read_only_reason(kr) for kr in key_results if read_only_reason(kr)},
        checklists=await _checklists(visit, key_results),
        checklist_field=_checklist_field,
        departments=sorted(departments.values(), key=lambda d: d["name"]),
        department_names={d: v["name"] for d, v in departments.items()},
        form=form,
        shared=bool(form.get("shared") or visit.request.query_params.get("shared")),
        shared_department=form.get("department")
        or visit.request.query_params.get("department", ""),
        error=error,
        error_lines=error_lines or [],
        recorded=int(done) if done.isdigit() else 0,
    )


@router.post("/check-in", name="web_check_in_post")
@router.post("/check-ins", name="web_check_ins_post")
async def record_check_in(request: Request) -> Response:
    form = await read_form(request)
    # A shared device whose session ended meanwhile goes back to its PIN sign-in.
    if form.get("shared"):
        request.state.pin_sign_in = pin_sign_in_url(form.get("department", ""))
    visit = await Visit.start(request)
    cycle, _ = await visit.cycle()
    cycle_id = form.get("cycle", "") or (cycle["id"] if cycle else "")
    key_results = await visit.api.all_pages("/key-results", cycle_id=cycle_id)
    people_fed = [kr for kr in key_results if not read_only_reason(kr)]
    checklists = await _checklists(visit, people_fed)
    entries = [_entry(form, kr, checklists) for kr in people_fed]
    if not entries:
        return redirect(request, f"/check-in?cycle={cycle_id}")
    try:
        result = await visit.api.post("/check-ins", {"check_ins": entries})
    except ApiError as exc:
        titles = {kr["id"]: kr["title"] for kr in key_results}
        lines = _check_in_errors(exc, entries, titles)
        return await _check_in(visit, form, exc, cycle_id=cycle_id, error_lines=lines)
    recorded = len(result["check_ins"])
    if form.get("shared"):
        # A shared device: the next person signs in to the same screen (by PIN).
        await end_session(request)
        return redirect(request, pin_sign_in_url(form.get("department", ""), recorded))
    return redirect(request, f"/check-in?cycle={cycle_id}&done={recorded}")


# -- my inbox --------------------------------------------------------------------------------


@router.get("/inbox", name="web_inbox")
async def inbox(request: Request) -> Response:
    visit = await Visit.start(request)
    found, pilot = await asyncio.gather(
        visit.api.get("/me/inbox", page_size=INBOX_PAGE), visit.in_pilot()
    )
    # Out of the pilot: the items stay readable, without an unread count calling for action.
    return visit.render(
        "inbox.html", items=found["items"], unread=found["unread_count"], in_pilot=pilot
    )


@router.post("/inbox/{item_id}", name="web_inbox_open")
async def open_inbox_item(request: Request, item_id: PathId) -> Response:
    """Mark the item read and open the page it links to (the inbox when it links nowhere)."""
    await read_form(request)
    visit = await Visit.start(request)
    item = await visit.api.post(f"/me/inbox/{item_id}/read", {})
    return redirect(request, safe_next(item.get("link"), "/inbox"))


# -- feedback --------------------------------------------------------------------------------

# The feedback lists a person reads (the API's boxes).
FEEDBACK_BOXES = ("received", "given", "reports")


@router.get("/feedback", name="web_feedback")
async def feedback(request: Request, box: str = "received", to: str = "") -> Response:
    """My feedback (received, given, or shared about my reports); ``?to=`` opens the form to
    give private feedback to that person."""
    visit = await Visit.start(request)
    box = box if box in FEEDBACK_BOXES else "received"
    items = (await visit.api.get("/feedback", box=box, page_size=INBOX_PAGE))["items"]
    people = await visit.people(
        [to, *(i["author_id"] for i in items), *(i["about_id"] for i in items)]
    )
    return visit.render(
        "feedback.html",
        box=box,
        boxes=FEEDBACK_BOXES,
        items=items,
        people=people,
        to=people.get(to),
        sent=request.query_params.get("sent") == "1",
        error=None,
        text="",
    )


@router.post("/feedback", name="web_feedback_give")
async def give_feedback(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    to, text = form.get("to", ""), form.get("text", "")
    body = {
        "subject_id": to,
        "text": text,
        "share_with_manager": form.get("share_with_manager") == "1",
    }
    try:
        await visit.api.post("/feedback", body)
    except ApiError as exc:
        people = await visit.people([to])
        return visit.render(
            "feedback.html",
            status=exc.status,
            box="given",
            boxes=FEEDBACK_BOXES,
            items=[],
            people=people,
            to=people.get(to),
            sent=False,
            error=exc,
            text=text,
        )
    return redirect(request, "/feedback?box=given&sent=1")


# -- approvals and the team -------------------------------------------------------------------


@router.get("/approvals", name="web_approvals")
async def approvals(request: Request) -> Response:
    visit = await Visit.start(request)
    pending = await visit.api.all_pages("/approvals")
    people = await visit.people(a["employee_id"] for a in pending)
    return visit.render("approvals.html", approvals=pending, people=people)


async def _approval(visit: Visit, approval_id: str, **context: Any) -> Response:
    approval = await visit.api.get(f"/approvals/{approval_id}")
    objectives = []
    for objective_id in approval["objective_ids"]:
        try:
            objective = await visit.api.get(f"/objectives/{objective_id}")
            objective["key_results"] = await visit.api.all_pages(
                f"/objectives/{objective_id}/key-results"
            )
            objectives.append(objective)
        except ApiError:
            continue  # deleted since, or not readable: the approval still lists its id
    people = await visit.people([approval["employee_id"], approval["decided_by"]])
    may_decide = approval["status"] == "pending" and (
        visit.me["id"] in approval["approver_ids"] or bool(visit.roles & {HR, ADMIN})
    )
    context.setdefault("error", None)
    context.setdefault("comment", "")
    return visit.render(
        "approval.html",
        status=context["error"].status if context["error"] else 200,
        approval=approval,
        objectives=objectives,
        people=people,
        may_decide=may_decide,
        **context,
    )


@router.get("/approvals/{approval_id}", name="web_approval")
async def approval_page(request: Request, approval_id: PathId) -> Response:
    visit = await Visit.start(request)
    return await _approval(visit, approval_id)


@router.post("/approvals/{approval_id}", name="web_approval_post")
async def decide(request: Request, approval_id: PathId) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {"decision": form.get("decision", ""), "comment": form.get("comment", "")}
    try:
        await visit.api.post(f"/approvals/{approval_id}/decision", body)
    except ApiError as exc:
        return await _approval(visit, approval_id, error=exc, comment=body["comment"])
    return redirect(request, f"/approvals/{approval_id}")


@router.get("/team", name="web_team")
async def team(request: Request) -> Response:
    visit = await Visit.start(request)
    cycle, cycles = await visit.cycle()
    reports = await visit.api.all_pages("/employees", manager_id=visit.me["id"])
    by_owner: dict[str, list[dict[str, Any]]] = {}
    if cycle and reports:
        # The whole team's key results in one call per MAX_KEY_RESULT_OWNERS people.
        ids = [person["id"] for person in reports]
        for kr in await _key_results_by_owner(visit, cycle["id"], ids):
            by_owner.setdefault(kr["owner_id"], []).append(kr)
    rows = [(person, by_owner.get(person["id"], [])) for person in reports] if cycle else []
    rows.sort(key=lambda row: row[0]["name"])
    return visit.render("team.html", cycle=cycle, cycles=cycles, rows=rows)


# -- the pages Stride's e-mails link to -------------------------------------------------------


@router.get("/scores", name="web_scores")
async def scores(request: Request) -> Response:
    """A page of the cycle's scores (people in employee id order; the departments and the
    cycle's alignment on the first page), with a link to the next page and back to the first."""
    visit = await Visit.start(request)
    cycle, cycles = await visit.cycle()
    token = request.query_params.get("page_token", "")
    result = (
        await visit.api.get(f"/cycles/{cycle['id']}/scores", page_token=token) if cycle else None
    )
    people = await visit.people(p["employee_id"] for p in (result or {}).get("people", []))
    here = {"cycle": cycle["id"]} if cycle else {}
    after = (result or {}).get("next_page_token", "")
    return visit.render(
        "scores.html",
        cycle=cycle,
        cycles=cycles,
        scores=result,
        people=people,
        departments=await visit.departments(),
        next_page=f"/scores?{urlencode({**here, 'page_token': after})}" if after else "",
        first_page=f"/scores?{urlencode(here)}" if token else "",
    )


@router.get("/key-results/{key_result_id}", name="web_key_result")
async def key_result(request: Request, key_result_id: PathId) -> Response:
    visit = await Visit.start(request)
    kr = await visit.api.get(f"/key-results/{key_result_id}")
    check_ins = await visit.api.all_pages(f"/key-results/{key_result_id}/check-ins")
    people = await visit.people([kr["owner_id"]])
    return visit.render(
        "key_result.html",
        kr=kr,
        check_ins=check_ins,
        people=people,
        read_only=read_only_reason(kr),
        departments=await visit.departments(),
    )


@router.get("/departments/{department_id}/blockers", name="web_department_blockers")
async def department_blockers(request: Request, department_id: PathId) -> Response:
    visit = await Visit.start(request)
    department = await visit.api.get(f"/departments/{department_id}")
    blockers = await visit.api.all_pages(f"/departments/{department_id}/blockers")
    people = await visit.people(b["owner_id"] for b in blockers)
    return visit.render(
        "blockers.html",
        department=department,
        blockers=blockers,
        people=people,
        departments=await visit.departments(),
    )


@router.post("/departments/{department_id}/blockers/{blocker_id}", name="web_resolve_blocker")
async def resolve_blocker(request: Request, department_id: PathId, blocker_id: PathId) -> Response:
    """Mark a blocker resolved (the department's heads, HR, admin: the API decides)."""
    await read_form(request)
    visit = await Visit.start(request)
    await visit.api.post(f"/departments/{department_id}/blockers/{blocker_id}/resolve", {})
    return redirect(request, f"/departments/{department_id}/blockers")


# The 360 round pages (the rater's answer form): gateway/web/feedback_pages.py.


@router.get("/promotions/{case_id}", name="web_promotion")
async def promotion(request: Request, case_id: PathId) -> Response:
    visit = await Visit.start(request)
    case = await visit.api.get(f"/promotions/{case_id}")
    return visit.render("record.html", title_key="promotion.title", record=case)


@router.get("/reports/monthly/{month}", name="web_monthly_report")
async def monthly_report(request: Request, month: PathId) -> Response:
    visit = await Visit.start(request)
    briefs = await visit.api.get(f"/reports/monthly/{month}")
    return visit.render(
        "monthly.html", month=month, briefs=briefs, departments=await visit.departments()
    )


Month = Annotated[str, Path(pattern=MONTH_PATTERN)]
# The brief's own page is data, not an app: no scripts, inline styles at most (the API's
# policy for it, kept instead of the pages' one).
BRIEF_HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


async def _brief_document(
    request: Request, month: str, department_id: str, suffix: str, language: str
) -> Response:
    visit = await Visit.start(request)
    return finish(
        request,
        await visit.api.download(
            f"/reports/monthly/{month}/{department_id}.{suffix}",
            language=language or language_of(request),
        ),
    )


@router.get("/reports/monthly/{month}/{department_id}.pdf", name="web_monthly_brief_pdf")
async def monthly_brief_pdf(
    request: Request, month: Month, department_id: PathId, language: str = ""
) -> Response:
    """A department's brief as the API's PDF, streamed with the session's token (a browser
    link cannot send the bearer token); the API decides who may read it."""
    return await _brief_document(request, month, department_id, "pdf", language)


@router.get("/reports/monthly/{month}/{department_id}.html", name="web_monthly_brief_html")
async def monthly_brief_html(
    request: Request, month: Month, department_id: PathId, language: str = ""
) -> Response:
    """A department's brief as the API's HTML page (its own restrictive policy kept)."""
    response = await _brief_document(request, month, department_id, "html", language)
    response.headers["Content-Security-Policy"] = BRIEF_HTML_POLICY
    return response


# -- dashboards -------------------------------------------------------------------------------


# Departments a dashboard page shows (the API's default page).
DASHBOARD_PAGE_SIZE = DEFAULT_PAGE_SIZE


@router.get("/dashboards", name="web_dashboards")
async def dashboards(request: Request) -> Response:
    """A page of the dashboard's departments (department id order; the totals, feedback and
    charts of every department shown), with a link to the next page and back to the first."""
    visit = await Visit.start(request)
    cycle, cycles = await visit.cycle()
    department = request.query_params.get("department", "")
    token = request.query_params.get("page_token", "")
    dashboard = None
    scope = "none"
    if cycle:
        if department:
            scope = "department"
            path = f"/dashboards/{cycle['id']}/departments/{quote(department, safe='')}"
        elif visit.roles & _ORGANISATION_ROLES:
            scope = "organisation"
            path = f"/dashboards/{cycle['id']}/organisation"
        else:
            scope = "my_organisation"
            path = f"/dashboards/{cycle['id']}/my-organisation"
        try:
            dashboard = await visit.api.get(path, page_size=DASHBOARD_PAGE_SIZE, page_token=token)
        except ApiError as exc:
            if exc.code != "no_organisation":
                raise
            scope = "none"
    departments = await visit.departments()
    bars = charts.department_scores(dashboard, departments) if dashboard else ""
    weeks = charts.weekly_check_ins(dashboard) if dashboard else ""
    here = {"cycle": cycle["id"]} if cycle else {}
    if department:
        here["department"] = department
    after = (dashboard or {}).get("next_page_token", "")
    return visit.render(
        "dashboards.html",
        cycle=cycle,
        cycles=cycles,
        dashboard=dashboard,
        scope=scope,
        departments=departments,
        score_chart=bars,
        week_chart=weeks,
        next_page=f"/dashboards?{urlencode({**here, 'page_token': after})}" if after else "",
        first_page=f"/dashboards?{urlencode(here)}" if token and dashboard else "",
    )


# -- the cross-department objective board ----------------------------------------------------


async def _key_results_of(visit: Visit, objectives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key results of ``objectives`` (those with two or more: one department alone is
    never cross-department). Organisation-wide readers list the cycle's in a few pages.
    Others list the key results of themselves and their direct reports in one call per
    :data:`MAX_KEY_RESULT_OWNERS` people; an objective of theirs whose key results are not
    all among those (some owned by others), and every other objective, is read alone."""
    candidates = [o for o in objectives if o["key_result_count"] >= board.MIN_DEPARTMENTS]
    if not candidates:
        return []
    cycle_id = candidates[0]["cycle_id"]
    if visit.roles & _ORGANISATION_ROLES:
        return await visit.api.all_pages("/key-results", cycle_id=cycle_id)
    reports = await visit.api.all_pages("/employees", manager_id=visit.me["id"])
    team = {visit.me["id"], *(p["id"] for p in reports)}
    owners = sorted({o["owner_id"] for o in candidates} & team)
    listed = await _key_results_by_owner(visit, cycle_id, owners)
    by_objective: dict[str, list[dict[str, Any]]] = {}
    for kr in listed:
        by_objective.setdefault(kr["objective_id"], []).append(kr)
    found: list[dict[str, Any]] = []
    alone: list[dict[str, Any]] = []
    for o in candidates:
        known = by_objective.get(o["id"], [])
        if o["owner_id"] in team and len(known) == o["key_result_count"]:
            found += known
        else:
            alone.append(o)
    read = await asyncio.gather(
        *(visit.api.all_pages(f"/objectives/{o['id']}/key-results") for o in alone)
    )
    return found + [kr for page in read for kr in page]


async def _key_results_by_owner(
    visit: Visit, cycle_id: str, owners: list[str]
) -> list[dict[str, Any]]:
    """The cycle's key results of ``owners``, in one call per MAX_KEY_RESULT_OWNERS people."""
    chunks = [
        owners[i : i + MAX_KEY_RESULT_OWNERS] for i in range(0, len(owners), MAX_KEY_RESULT_OWNERS)
    ]
    found = await asyncio.gather(
        *(visit.api.all_pages("/key-results", cycle_id=cycle_id, owner_id=c) for c in chunks)
    )
    return [kr for page in found for kr in page]


@router.get("/board", name="web_boards")
async def boards(request: Request) -> Response:
    """The cycle's cross-department objectives the visitor may read, each linking its board."""
    visit = await Visit.start(request)
    cycle, cycles = await visit.cycle()
    found: list[tuple[dict[str, Any], list[str]]] = []
    if cycle:
        objectives = await visit.api.all_pages("/objectives", cycle_id=cycle["id"])
        found = board.cross_department(objectives, await _key_results_of(visit, objectives))
    return visit.render(
        "boards.html",
        cycle=cycle,
        cycles=cycles,
        boards=found,
        departments=await visit.departments(),
    )


async def _check_ins_of(visit: Visit, key_result_id: str) -> list[dict[str, Any]]:
    try:
        return await visit.api.all_pages(f"/key-results/{key_result_id}/check-ins")
    except ApiError as exc:
        if exc.status not in (403, 404):
            raise
        return []  # a key result the visitor may not read in detail: no history shown


@router.get("/board/{objective_id}", name="web_board")
async def objective_board(request: Request, objective_id: PathId) -> Response:
    """One objective's board: a row per key result (department, owner, risk, trend since
    the check-in before, latest blocker)."""
    visit = await Visit.start(request)
    objective = await visit.api.get(f"/objectives/{objective_id}")
    key_results = await visit.api.all_pages(f"/objectives/{objective_id}/key-results")
    histories = await asyncio.gather(*(_check_ins_of(visit, kr["id"]) for kr in key_results))
    people = await visit.people([objective["owner_id"], *(kr["owner_id"] for kr in key_results)])
    departments = await visit.departments()
    check_ins = {kr["id"]: h for kr, h in zip(key_results, histories, strict=True)}
    return visit.render(
        "board.html",
        objective=objective,
        rows=board.rows(key_results, check_ins, departments, people),
        owner=people.get(objective["owner_id"]),
        departments=departments,
    )


# -- QR sheet ---------------------------------------------------------------------------------


@router.get("/qr", name="web_qr")
async def qr_sheet(request: Request) -> Response:
    visit = await Visit.start(request)
    departments = sorted((await visit.departments()).values(), key=lambda d: d["name"])
    wanted = request.query_params.get("department", "")
    if wanted:
        departments = [d for d in departments if d["id"] == wanted]
    base = str(request.base_url).rstrip("/")
    # Each code opens the PIN sign-in of a shared device; the department in the link names the
    # line the code hangs at and comes back to the same screen after each check-in. A second
    # code per line opens its daily inspection the same way.
    codes = [
        (
            d,
            qr.svg(base + pin_sign_in_url(d["id"])),
            qr.svg(base + pin_sign_in_url(d["id"], then=THEN_INSPECTION)),
        )
        for d in departments
    ]
    return visit.render("qr.html", codes=codes)
