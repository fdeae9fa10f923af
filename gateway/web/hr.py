"""The HR console (docs/web.md): cycles, risk rules, the org sync (a file uploaded, its dry
run's preview, applied; every run's report), invitations, the pilot rollout (which
departments have Stride on), audit search and exports, for HR and admins.

As every page, these call the gateway's own API as the signed-in person: the API's rules
decide (``cycle.create``, ``cycle.close``, ``risk_rules.update``, ``org_sync.upload``,
``org_sync.start``, ``org_sync.read``,
``org.invite``, ``department.update``, ``audit.list``, ``goals.export``: HR and admin), and
a refusal is shown as the API gives it. The navigation shows the console to HR and admins
only; that is a convenience, not the protection.

Longer than ~400 lines: the console's pages share their form handling, refusal pages and
navigation, and each page is a few short handlers; splitting per page would scatter those.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.body_limit import BULK_BODY
from gateway.deps import PathId
from gateway.policy import WEB_PAGE
from gateway.security import Allow
from gateway.web.pages import Visit, as_number
from gateway.web.render import redirect
from gateway.web.session import ApiError, finish, read_form
from gateway.web.upload import UploadedFile, read_file_form
from services.common.pilot import PilotDepartment, enabled_departments
from services.common.tables import XLSX_MEDIA_TYPE
from workflows.vocabulary import DEFAULT_TIME_ZONE

router = APIRouter(include_in_schema=False, dependencies=[Allow(WEB_PAGE)])

# The audit search shows this many entries a page (newest first).
AUDIT_PAGE = 50
# The audit search's filters (the API's query parameters of the same names).
AUDIT_FILTERS = ("actor", "action", "resource_type", "resource_id")
# What a cycle can be exported as (GET /cycles/{id}/exports/{kind}).
EXPORT_KINDS = ("objectives", "key_results", "scores", "check_ins")
EXPORT_FORMATS = ("csv", "xlsx")


@router.get("/hr", name="web_hr")
async def hub(request: Request) -> Response:
    visit = await Visit.start(request)
    return visit.render("hr.html")


# -- cycles -----------------------------------------------------------------------------------


async def _cycles(visit: Visit, *, status: int = 200, **context: Any) -> Response:
    context.setdefault("error", None)
    context.setdefault("form", {})
    return visit.render(
        "hr_cycles.html",
        status=status,
        cycles=await visit.cycles(),
        created=visit.request.query_params.get("created", ""),
        closed=visit.request.query_params.get("closed", ""),
        **context,
    )


@router.get("/hr/cycles", name="web_hr_cycles")
async def cycles(request: Request) -> Response:
    return await _cycles(await Visit.start(request))


@router.post("/hr/cycles", name="web_hr_cycle_create")
async def create_cycle(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    body = {k: form.get(k, "").strip() for k in ("name", "start_date", "end_date", "time_zone")}
    try:
        cycle = await visit.api.post("/cycles", body)
    except ApiError as exc:
        return await _cycles(visit, status=exc.status, error=exc, form=body)
    return redirect(request, f"/hr/cycles?{urlencode({'created': cycle['id']})}")


@router.post("/hr/cycles/{cycle_id}/close", name="web_hr_cycle_close")
async def close_cycle(request: Request, cycle_id: PathId) -> Response:
    await read_form(request)
    visit = await Visit.start(request)
    try:
        await visit.api.post(f"/cycles/{cycle_id}/close", {})
    except ApiError as exc:
        return await _cycles(visit, status=exc.status, error=exc)
    return redirect(request, f"/hr/cycles?{urlencode({'closed': cycle_id})}")


# -- risk rules -------------------------------------------------------------------------------

# The risk rules page lists this many versions (newest first).
RISK_VERSIONS = 10


def _percent(text: str) -> Any:
    """A threshold typed in percent as the API's fraction (text the API refuses as is)."""
    number = as_number(text)
    return round(number / 100, 4) if isinstance(number, int | float) else number


def risk_rules_body(form: dict[str, str], overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """PUT /risk-rules from the form: the organisation's rule, each department override
    kept, changed or removed (``override-<department>-…``), and one new override."""
    body: dict[str, Any] = {
        "rule": {
            "threshold": _percent(form.get("threshold", "")),
            "weeks": as_number(form.get("weeks", "")),
        },
        "overrides": [],
        "note": form.get("note", "").strip(),
    }
    for o in overrides:
        prefix = f"override-{o['department_id']}-"
        if form.get(prefix + "remove"):
            continue
        body["overrides"].append(
            {
                "department_id": o["department_id"],
                "rule": {
                    "threshold": _percent(form.get(prefix + "threshold", "")),
                    "weeks": as_number(form.get(prefix + "weeks", "")),
                },
            }
        )
    department = form.get("new_department", "").strip()
    if department:
        body["overrides"].append(
            {
                "department_id": department,
                "rule": {
                    "threshold": _percent(form.get("new_threshold", "")),
                    "weeks": as_number(form.get("new_weeks", "")),
                },
            }
        )
    return body


async def _risk_rules(
    visit: Visit, *, status: int = 200, error: ApiError | None = None
) -> Response:
    rules, versions = (
        await visit.api.get("/risk-rules"),
        await visit.api.get("/risk-rules/versions", page_size=RISK_VERSIONS),
    )
    departments = await visit.departments()
    return visit.render(
        "hr_risk_rules.html",
        status=status,
        rules=rules,
        versions=versions["items"],
        departments=departments,
        department_list=sorted(departments.values(), key=lambda d: d["name"]),
        people=await visit.people(v["created_by"] for v in versions["items"]),
        error=error,
        saved=visit.request.query_params.get("saved", ""),
    )


@router.get("/hr/risk-rules", name="web_hr_risk_rules")
async def risk_rules(request: Request) -> Response:
    return await _risk_rules(await Visit.start(request))


@router.post("/hr/risk-rules", name="web_hr_risk_rules_set")
async def set_risk_rules(request: Request) -> Response:
    form = await read_form(request)
    visit = await Visit.start(request)
    current = await visit.api.get("/risk-rules")
    try:
        saved = await visit.api.put("/risk-rules", risk_rules_body(form, current["overrides"]))
    except ApiError as exc:
        return await _risk_rules(visit, status=exc.status, error=exc)
    return redirect(request, f"/hr/risk-rules?{urlencode({'saved': saved['version']})}")


# -- org sync: upload, dry run, apply -------------------------------------------------------

# The org sync page lists this many runs (latest first).
SYNC_RUNS = 50
# A run's report shows this many rows a page.
SYNC_ROWS_PAGE = 100
# While a run is in one of these states its page reloads itself (every few seconds).
SYNC_RUNNING = frozenset({"started", "planned", "applying"})
# The Content-Type the upload API is sent, by the file's extension (anything else goes as
# application/octet-stream with its name: the API reads it or refuses it, 422 invalid_file).
UPLOAD_TYPES = {
    ".csv": "text/csv",
    ".txt": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xlsx": XLSX_MEDIA_TYPE,
}
# The longest file name the upload API takes (?filename=).
MAX_FILENAME = 255


def upload_type(filename: str) -> str:
    """The media type the upload API is sent for a file of this name."""
    suffix = PurePosixPath(filename.lower()).suffix
    return UPLOAD_TYPES.get(suffix, "application/octet-stream")


async def _org_sync(visit: Visit, *, status: int = 200, error: ApiError | None = None) -> Response:
    runs = await visit.api.get("/org/sync/runs", limit=SYNC_RUNS)
    return visit.render("hr_org_sync.html", status=status, runs=runs["items"], error=error)


@router.get("/hr/org-sync", name="web_hr_org_sync")
async def org_sync_runs(request: Request) -> Response:
    """The upload form (a dry run of the file first) and the latest org sync runs (dry runs
    and failed ones included) with their counts, each linking its report."""
    return await _org_sync(await Visit.start(request))


@router.post("/hr/org-sync", name="web_hr_org_sync_upload", openapi_extra=BULK_BODY)
async def org_sync_upload(request: Request) -> Response:
    """HR's file: sent to ``POST /org/sync/uploads`` as it is, then dry run
    (``POST /org/sync`` with ``dry_run``); the page goes to the dry run's report."""
    form = await read_file_form(request)
    visit = await Visit.start(request)
    file = form.files.get("file") or UploadedFile("", b"")
    filename = file.filename[-MAX_FILENAME:]
    try:
        uploaded = await visit.api.upload(
            "/org/sync/uploads",
            file.content,
            content_type=upload_type(filename),
            filename=filename,
        )
        started = await visit.api.post(
            "/org/sync",
            {"source": "file", "upload_id": uploaded["upload_id"], "dry_run": True},
        )
    except ApiError as exc:
        if exc.status in (401, 403):
            raise
        return await _org_sync(visit, status=exc.status, error=exc)
    return redirect(request, f"/hr/org-sync/runs/{quote(started['sync_run_id'], safe='')}")


def sync_rows_view(
    rows: list[dict[str, Any]], action: str, page: int
) -> tuple[list[dict[str, Any]], dict[str, int], int, int]:
    """One page of a report's rows (``action``: only those), the number of rows per action
    (in the report's order of first appearance), the page (clamped) and the page count."""
    by_action: dict[str, int] = {}
    for row in rows:
        by_action[row["action"]] = by_action.get(row["action"], 0) + 1
    chosen = [r for r in rows if r["action"] == action] if action else rows
    pages = max(1, -(-len(chosen) // SYNC_ROWS_PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * SYNC_ROWS_PAGE
    return chosen[start : start + SYNC_ROWS_PAGE], by_action, page, pages


async def _org_sync_run(
    visit: Visit, run_id: str, *, status: int = 200, error: ApiError | None = None
) -> Response:
    run = await visit.api.get(f"/org/sync/runs/{quote(run_id, safe='')}")
    query = visit.request.query_params
    action = query.get("action", "")
    page_text = query.get("page", "1")
    page = int(page_text) if page_text.isascii() and page_text.isdigit() else 1
    rows, by_action, page, pages = sync_rows_view(run["rows"], action, page)
    base = f"/hr/org-sync/runs/{quote(run_id, safe='')}"

    def link(**params: Any) -> str:
        kept = {k: v for k, v in {"action": action, **params}.items() if v and v != 1}
        return f"{base}?{urlencode(kept)}" if kept else base

    return visit.render(
        "hr_org_sync_run.html",
        status=status,
        run=run,
        rows=rows,
        by_action=by_action,
        action=action,
        page=page,
        pages=pages,
        newer=link(page=page - 1) if page > 1 else "",
        older=link(page=page + 1) if page < pages else "",
        action_link=lambda a: link(action=a),
        running=run["status"] in SYNC_RUNNING,
        can_apply=run["dry_run"] and run["status"] == "dry_run" and bool(run["upload_id"]),
        error=error,
    )


@router.get("/hr/org-sync/runs/{run_id}", name="web_hr_org_sync_run")
async def org_sync_run(request: Request, run_id: PathId) -> Response:
    """A run's report: its outcome, counts and every row that is not unchanged (paged,
    ``?action=`` one kind); a finished dry run of a file offers to apply it."""
    return await _org_sync_run(await Visit.start(request), run_id)


@router.post("/hr/org-sync/runs/{run_id}/apply", name="web_hr_org_sync_apply")
async def org_sync_apply(request: Request, run_id: PathId) -> Response:
    """Apply the dry run's file: ``POST /org/sync`` with the same upload, not dry."""
    form = await read_form(request)
    visit = await Visit.start(request)
    run = await visit.api.get(f"/org/sync/runs/{quote(run_id, safe='')}")
    try:
        if not (run["dry_run"] and run["status"] == "dry_run" and run["upload_id"]):
            raise ApiError(
                409,
                {
                    "status": 409,
                    "code": "org_sync_not_a_dry_run",
                    "detail": "Only a finished dry run of an uploaded file can be applied.",
                },
            )
        started = await visit.api.post(
            "/org/sync",
            {
                "source": run["source"],
                "upload_id": run["upload_id"],
                "allow_mass_deactivation": form.get("allow_mass_deactivation") == "true",
            },
        )
    except ApiError as exc:
        if exc.status in (401, 403):
            raise
        return await _org_sync_run(visit, run_id, status=exc.status, error=exc)
    return redirect(request, f"/hr/org-sync/runs/{quote(started['sync_run_id'], safe='')}")


# -- invitations ------------------------------------------------------------------------------


@router.get("/hr/invitations", name="web_hr_invitations")
async def invitations(request: Request, job: str = "") -> Response:
    """Invite everyone without a password; ``?job=`` follows that job (the API shows a job
    to the person who started it only) up to its slips."""
    visit = await Visit.start(request)
    found = None
    if job:
        found = await visit.api.get(f"/org/invitations/jobs/{quote(job, safe='')}")
    return visit.render("hr_invitations.html", job=found, error=None)


@router.post("/hr/invitations", name="web_hr_invite")
async def invite(request: Request) -> Response:
    await read_form(request)
    visit = await Visit.start(request)
    try:
        job = await visit.api.post("/org/invitations", {"all_without_password": True})
    except ApiError as exc:
        return visit.render("hr_invitations.html", status=exc.status, job=None, error=exc)
    return redirect(request, f"/hr/invitations?{urlencode({'job': job['job_id']})}")


@router.get("/hr/invitations/{job_id}/slips", name="web_hr_invitation_slips")
async def invitation_slips(request: Request, job_id: PathId) -> Response:
    """The job's slips (an XLSX to print), handed out once by the API."""
    visit = await Visit.start(request)
    return finish(request, await visit.api.download(f"/org/invitations/jobs/{job_id}/slips"))


# -- pilot rollout ----------------------------------------------------------------------------


def pilot_rows(departments: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The departments as a tree (each after its parent, siblings by name) with their depth,
    their own switch and whether they are in the pilot (:mod:`services.common.pilot`: on
    only when every department above is on too)."""
    enabled = enabled_departments(
        PilotDepartment(d["id"], d.get("parent_id", ""), d.get("stride_enabled", True))
        for d in departments.values()
    )
    children: dict[str, list[dict[str, Any]]] = {}
    for d in departments.values():
        parent = d.get("parent_id", "")
        children.setdefault(parent if parent in departments else "", []).append(d)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def walk(parent: str, depth: int) -> None:
        for d in sorted(children.get(parent, []), key=lambda d: (d["name"], d["id"])):
            if d["id"] in seen:
                continue
            seen.add(d["id"])
            rows.append({**d, "depth": depth, "in_pilot": d["id"] in enabled})
            walk(d["id"], depth + 1)

    walk("", 0)
    return rows


async def _pilot(visit: Visit, *, status: int = 200, error: ApiError | None = None) -> Response:
    return visit.render(
        "hr_pilot.html",
        status=status,
        rows=pilot_rows(await visit.departments()),
        error=error,
        saved=visit.request.query_params.get("saved", ""),
    )


@router.get("/hr/pilot", name="web_hr_pilot")
async def pilot(request: Request) -> Response:
    """Which departments have Stride on (the pilot rollout), with a switch for each."""
    return await _pilot(await Visit.start(request))


@router.post("/hr/pilot/{department_id}", name="web_hr_pilot_set")
async def set_pilot(request: Request, department_id: PathId) -> Response:
    """Switch Stride on or off for one department (``PATCH /departments/{id}``)."""
    form = await read_form(request)
    visit = await Visit.start(request)
    wanted = form.get("stride_enabled", "")
    # Anything but the form's two values goes to the API as typed, which refuses it (422).
    switch: Any = {"true": True, "false": False}.get(wanted, wanted)
    try:
        await visit.api.patch(f"/departments/{department_id}", {"stride_enabled": switch})
    except ApiError as exc:
        return await _pilot(visit, status=exc.status, error=exc)
    return redirect(request, f"/hr/pilot?{urlencode({'saved': department_id})}")


# -- audit search -----------------------------------------------------------------------------


def day_start(text: str, *, next_day: bool = False) -> str:
    """The start of a day typed as YYYY-MM-DD, in the organisation's time zone, as RFC 3339
    ("" when empty or not a date); ``next_day``: the start of the day after (an inclusive
    "to" day becomes the API's exclusive ``to_time``)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return ""
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(), ZoneInfo(DEFAULT_TIME_ZONE)).isoformat()


@router.get("/hr/audit", name="web_hr_audit")
async def audit(request: Request) -> Response:
    """Search the audit trail (newest first, :data:`AUDIT_PAGE` a page)."""
    visit = await Visit.start(request)
    query = request.query_params
    filters = {name: query.get(name, "").strip() for name in AUDIT_FILTERS}
    days = {"from": query.get("from", "").strip(), "to": query.get("to", "").strip()}
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    if day_start(days["from"]):
        params["from_time"] = day_start(days["from"])
    if day_start(days["to"]):
        params["to_time"] = day_start(days["to"], next_day=True)
    found = await visit.api.get(
        "/audit", page_size=AUDIT_PAGE, page_token=query.get("page_token", ""), **params
    )
    token = found.get("next_page_token", "")
    searched = {k: v for k, v in {**filters, **days}.items() if v}
    older = f"/hr/audit?{urlencode({**searched, 'page_token': token})}" if token else ""
    # Actors are people's ids (or a service's name): named where the visitor may read them.
    people = await visit.people(e["actor"] for e in found["items"])
    return visit.render(
        "hr_audit.html",
        entries=found["items"],
        people=people,
        filters=filters,
        days=days,
        older=older,
    )


# -- exports ----------------------------------------------------------------------------------


@router.get("/hr/exports", name="web_hr_exports")
async def exports(request: Request) -> Response:
    """Links to each export of the chosen cycle (downloaded through :func:`download`)."""
    visit = await Visit.start(request)
    cycle, cycles = await visit.cycle()
    return visit.render(
        "hr_exports.html",
        cycle=cycle,
        cycles=cycles,
        kinds=EXPORT_KINDS,
        formats=EXPORT_FORMATS,
    )


@router.get("/hr/exports/{cycle_id}/{kind}", name="web_hr_export")
async def download(request: Request, cycle_id: PathId, kind: str, format: str = "csv") -> Response:
    """A cycle's export, streamed from the API with the session's token (a browser link
    cannot send the bearer token the API asks for)."""
    visit = await Visit.start(request)
    if kind not in EXPORT_KINDS or format not in EXPORT_FORMATS:
        raise ApiError(404, {"code": "not_found", "detail": "no such export"})
    return finish(
        request, await visit.api.download(f"/cycles/{cycle_id}/exports/{kind}", format=format)
    )
