"""A line's daily inspection on its shared device (docs/web.md).

The QR sheet's second code per line opens the PIN sign-in with ``then=inspection``; after it
this page shows the line's checklist (the department's, :mod:`gateway.inspection`) with a
checkbox per item. Recording it (``POST /api/v1/departments/{id}/inspections``: the API's rule
``inspection.submit`` lets only the line's members) signs the person out and shows the PIN
sign-in for the next person, like the shared check-in.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.policy import WEB_PAGE
from gateway.security import Allow
from gateway.web.pages import THEN_INSPECTION, Visit, pin_sign_in_url
from gateway.web.render import redirect
from gateway.web.session import ApiError, end_session, read_form

router = APIRouter(include_in_schema=False, dependencies=[Allow(WEB_PAGE)])

# A checkbox's form field: the item's id after this prefix.
ITEM_FIELD = "item-"


def checked_items(form: dict[str, str]) -> list[str]:
    """The ids of the ticked items (a checkbox form sends the ticked ones only)."""
    return [k.removeprefix(ITEM_FIELD) for k in form if k.startswith(ITEM_FIELD)]


def _back_to_pin_sign_in(request: Request, department: str) -> None:
    # A shared device whose session of minutes ended goes back to its PIN sign-in.
    request.state.pin_sign_in = pin_sign_in_url(department, then=THEN_INSPECTION)


async def _page(
    visit: Visit,
    department: str,
    *,
    form: dict[str, str] | None = None,
    error: ApiError | None = None,
) -> Response:
    own = visit.me.get("department_id", "")
    department = department or own
    departments = await visit.departments()
    line = departments.get(department)
    items: list[dict[str, Any]] = []
    if line is not None and department == own:
        checklist = await visit.api.get(f"/departments/{quote(department, safe='')}/checklist")
        items = checklist["items"]
    return visit.render(
        "inspection.html",
        status=error.status if error else 200,
        department=department,
        line=line,
        own_line=departments.get(own),
        member=department == own,
        items=items,
        item_field=ITEM_FIELD,
        form=form or {},
        submission_id=(form or {}).get("submission_id") or uuid.uuid4().hex,
        error=error,
    )


@router.get("/inspection", name="web_inspection")
async def inspection_page(request: Request, department: str = "") -> Response:
    _back_to_pin_sign_in(request, department)
    visit = await Visit.start(request)
    return await _page(visit, department)


@router.post("/inspection", name="web_inspection_post")
async def record_inspection(request: Request) -> Response:
    form = await read_form(request)
    department = form.get("department", "")
    _back_to_pin_sign_in(request, department)
    visit = await Visit.start(request)
    line = department or visit.me.get("department_id", "")
    body = {"checked": checked_items(form), "submission_id": form.get("submission_id") or None}
    try:
        await visit.api.post(f"/departments/{quote(line, safe='')}/inspections", body)
    except ApiError as exc:
        return await _page(visit, department, form=form, error=exc)
    # Recorded: the next person signs in to the same screen (by PIN).
    await end_session(request)
    return redirect(request, pin_sign_in_url(department, then=THEN_INSPECTION, inspected=True))
